import test from 'ava';
import { isEngineError } from '../../../src/errors.js';
import { checkCallbackIssuer } from '../../../src/oauth/index.js';

const ISS = 'https://as.example.com';

test('a matching iss is accepted', (t) => {
  t.notThrows(() => checkCallbackIssuer(ISS, true, ISS));
  t.notThrows(() => checkCallbackIssuer(ISS, false, ISS));
});

test('a different iss is refused as issuer_mismatch', (t) => {
  const err = t.throws(() => checkCallbackIssuer(ISS, true, 'https://evil.example.com'));
  t.true(isEngineError(err, 'issuer_mismatch'));
});

test('iss is compared as an exact string, without normalisation', (t) => {
  t.throws(() => checkCallbackIssuer(ISS, true, `${ISS}/`), { message: /is not/ });
  t.throws(() => checkCallbackIssuer(ISS, false, 'https://AS.example.com'), { message: /is not/ });
});

test('a missing iss is refused when the AS advertises the parameter', (t) => {
  const err = t.throws(() => checkCallbackIssuer(ISS, true, undefined));
  t.true(isEngineError(err, 'issuer_mismatch'));
});

test('a missing iss is accepted when the AS does not advertise the parameter', (t) => {
  t.notThrows(() => checkCallbackIssuer(ISS, false, undefined));
});
