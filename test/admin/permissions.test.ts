import { expect } from 'chai';
import { decide, mayAdminister, mayRegister, maySetPasswordWithoutCurrent, type CallerRights, type UserAction } from '../../src/admin/permissions.js';

const ME = 'account-me';
/** The same caller, its token also carrying the admin scope. */
const withAdminScope = (caller: CallerRights): CallerRights => ({ ...caller, scopes: new Set([...caller.scopes, 'admin']) });
const member: CallerRights = { account: { id: ME, isAdmin: false }, instanceRole: 'member', scopes: new Set(['openid']) };
const instanceAdmin: CallerRights = { ...member, instanceRole: 'admin' };
/** An admin of this server signed in at an instance not trusted with the admin scope, as a member there. */
const serverAdmin: CallerRights = { ...member, account: { id: ME, isAdmin: true } };
/** The same, whose role on that instance is admin. */
const serverAdminAsInstanceAdmin: CallerRights = { ...serverAdmin, instanceRole: 'admin' };
/** An admin of this server with a token of scope admin: power over every account. */
const poweredAdmin = withAdminScope(serverAdmin);
const service: CallerRights = { account: null, instanceRole: null, scopes: new Set(['users:read']) };
const scopelessService: CallerRights = { ...service, scopes: new Set(['openid']) };

const ACTIONS: UserAction[] = ['read', 'edit', 'password', 'sessions', 'delete', 'password-link'];
const self = { id: ME, onCallersInstance: true };
const colleague = { id: 'account-colleague', onCallersInstance: true };
const stranger = { id: 'account-stranger', onCallersInstance: false };

/** The verdict on each action, in ACTIONS order. */
function verdicts(caller: CallerRights, target: typeof self | null) {
  return ACTIONS.map((action) => decide(caller, action, target));
}

describe('user API permissions', function () {
  it('lets users read and change their own account, but not delete it nor make a set-password link for it', function () {
    expect(verdicts(member, self)).to.deep.equal(['allowed', 'allowed', 'allowed', 'allowed', 'forbidden', 'forbidden']);
  });

  it('hides other accounts from users, on their instance or not, as if they did not exist', function () {
    for (const target of [colleague, stranger, null]) expect(verdicts(member, target)).to.deep.equal(Array(ACTIONS.length).fill('not_found'));
  });

  it("lets an instance's admin read its users, change none, and see nobody else", function () {
    expect(verdicts(instanceAdmin, colleague)).to.deep.equal(['allowed', 'forbidden', 'forbidden', 'forbidden', 'forbidden', 'forbidden']);
    expect(verdicts(instanceAdmin, stranger)).to.deep.equal(Array(ACTIONS.length).fill('not_found'));
  });

  it("lets this server's admins with a token of scope admin do anything to any account that exists", function () {
    for (const target of [self, colleague, stranger]) expect(verdicts(poweredAdmin, target)).to.deep.equal(Array(ACTIONS.length).fill('allowed'));
    expect(verdicts(poweredAdmin, null)).to.deep.equal(Array(ACTIONS.length).fill('not_found'));
  });

  it("treats this server's admins without the admin scope as what their role on the token's instance makes them", function () {
    expect(verdicts(serverAdmin, self)).to.deep.equal(verdicts(member, self));
    for (const target of [colleague, stranger, null]) expect(verdicts(serverAdmin, target)).to.deep.equal(Array(ACTIONS.length).fill('not_found'));
    expect(verdicts(serverAdminAsInstanceAdmin, colleague)).to.deep.equal(['allowed', 'forbidden', 'forbidden', 'forbidden', 'forbidden', 'forbidden']);
    expect(verdicts(serverAdminAsInstanceAdmin, stranger)).to.deep.equal(Array(ACTIONS.length).fill('not_found'));
  });

  it('gives the admin scope no power to anyone but an admin of this server', function () {
    for (const caller of [member, instanceAdmin, service, scopelessService]) {
      for (const target of [self, colleague, stranger, null]) {
        expect(verdicts(withAdminScope(caller), target)).to.deep.equal(verdicts(caller, target));
      }
    }
  });

  it("lets an instance's own token with users:read read its users only; without it, nothing at all", function () {
    expect(verdicts(service, colleague)).to.deep.equal(['allowed', 'forbidden', 'forbidden', 'forbidden', 'forbidden', 'forbidden']);
    expect(verdicts(service, stranger)).to.deep.equal(Array(ACTIONS.length).fill('not_found'));
    for (const target of [colleague, stranger, null]) expect(verdicts(scopelessService, target)).to.deep.equal(Array(ACTIONS.length).fill('insufficient_scope'));
  });

  it("lets admins register accounts: of this server with the admin scope, or of the token's instance", function () {
    const callers = [poweredAdmin, instanceAdmin, serverAdminAsInstanceAdmin, serverAdmin, member, service, scopelessService];
    expect(callers.map(mayRegister)).to.deep.equal(['allowed', 'allowed', 'allowed', 'forbidden', 'forbidden', 'forbidden', 'insufficient_scope']);
    expect([member, service, scopelessService].map(withAdminScope).map(mayRegister)).to.deep.equal(['forbidden', 'forbidden', 'insufficient_scope']);
  });

  it("sets passwords without the current one for this server's admins with a token of scope admin only", function () {
    const callers = [poweredAdmin, serverAdmin, serverAdminAsInstanceAdmin, instanceAdmin, member, service];
    expect(callers.map(maySetPasswordWithoutCurrent)).to.deep.equal([true, false, false, false, false, false]);
    expect([instanceAdmin, member, service].map(withAdminScope).map(maySetPasswordWithoutCurrent)).to.deep.equal([false, false, false]);
  });

  it("opens the admin API to this server's admins with a token of scope admin, to nobody else", function () {
    expect([serverAdmin, instanceAdmin, member, service].map(withAdminScope).map(mayAdminister)).to.deep.equal([
      'allowed',
      'forbidden',
      'forbidden',
      'forbidden',
    ]);
    expect([serverAdmin, instanceAdmin, member, service].map(mayAdminister)).to.deep.equal(Array(4).fill('insufficient_scope'));
  });
});
