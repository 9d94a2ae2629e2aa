// The `acr` and `amr` values this server puts in ID tokens and access tokens (OpenID Connect Core §2, RFC 8176), and
// the ones instances may ask for with `acr_values`.

/** A sign-in with a password alone. */
export const ACR_PASSWORD = 'pwd';
/** A sign-in with a password and a second factor. What an instance asks for with `acr_values=mfa` to step up. */
export const ACR_MFA = 'mfa';
/** What discovery lists as acr_values_supported, weakest first. */
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA] as const;

/** RFC 8176 §2: the methods a sign-in used. */
export const AMR_PASSWORD = 'pwd';
export const AMR_MULTIPLE = 'mfa';

/** The amr of a sign-in with a password and a second factor that proved `factorAmr`. */
export function multiFactorAmr(factorAmr: readonly string[]): string[] {
  return [...new Set([AMR_PASSWORD, ...factorAmr, AMR_MULTIPLE])];
}
