// Moved to src/demo/ (demo mode runs the same peers); tests keep importing them from here.
export * from '../../src/demo/oidcProvider.js';
