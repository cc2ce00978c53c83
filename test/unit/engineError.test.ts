import test from 'ava';
import { EngineError, ErrorCode } from '../../src/errors.js';
import { StreamNotFoundError, WrongExpectedVersionError } from '../../src/store/errors.js';

test('an expected outcome carries no stack frames; a fault keeps its stack', (t) => {
  const fault = new EngineError(ErrorCode.INTERNAL, 'broken');
  t.regex(fault.stack ?? '', /\n\s+at /, 'a fault says where it came from');
  for (const outcome of [new StreamNotFoundError('flow-x'), new WrongExpectedVersionError('flow-x', 1n, 2n)]) {
    t.notRegex(outcome.stack ?? '', /\n\s+at /);
    t.true(outcome instanceof EngineError);
  }
  t.is(new StreamNotFoundError('flow-x').code, 'stream_not_found');
  const after = new Error('later');
  t.regex(after.stack ?? '', /\n\s+at /, 'the stack trace limit is restored afterwards');
});
