import { EngineError, ErrorCode, quote } from '../errors.js';

/**
 * RFC 9207 §2.4 check of the `iss` authorization-response parameter, run before the code is
 * redeemed (mix-up defence):
 * - `iss` present: it must equal the issuer recorded at initiation, as an exact string
 *   (no normalisation, no trailing-slash tolerance);
 * - `iss` absent while the AS advertises `authorization_response_iss_parameter_supported`:
 *   reject (an attacker's AS would simply leave it out);
 * - `iss` absent and not advertised: proceed.
 *
 * Throws `EngineError` `ISSUER_MISMATCH`. The callback's `error*` values must not be shown to
 * the user after a mismatch (they come from an unknown party); that is the caller's part.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
export function checkCallbackIssuer(
  expectedIssuer: string,
  issParameterSupported: boolean,
  iss: string | undefined,
): void {
  if (iss === undefined) {
    if (issParameterSupported) {
      throw new EngineError(ErrorCode.ISSUER_MISMATCH, `authorization response lacks iss although ${quote(expectedIssuer)} advertises it`, {
        details: { expectedIssuer, received: null },
      });
    }
    return;
  }
  if (iss !== expectedIssuer) {
    throw new EngineError(ErrorCode.ISSUER_MISMATCH, `authorization response iss ${quote(iss)} is not ${quote(expectedIssuer)}`, {
      details: { expectedIssuer, received: iss.slice(0, 300) },
    });
  }
}
