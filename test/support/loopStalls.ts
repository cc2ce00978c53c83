/**
 * Watches the event loop: a 5 ms interval notes the longest gap between its runs. `stop()`
 * ends the watch and returns that gap in ms (a synchronous wait on the loop shows as a gap).
 */
export function watchLoopStalls(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
}
