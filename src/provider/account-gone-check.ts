import { interactionPolicy } from 'oidc-provider';

/**
 * Asks for a sign-in when the session's account can no longer sign in (disabled or deleted while the session lived):
 * findAccount finds nobody then, and without this oidc-provider would go on to consent with no account and fail.
 */
export function accountGoneCheck(): interactionPolicy.Check {
  return new interactionPolicy.Check('account_unavailable', 'the account of this session can no longer sign in', 'login_required', (ctx) =>
    ctx.oidc.session?.accountId && !ctx.oidc.account ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT,
  );
}
