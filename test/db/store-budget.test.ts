// The arithmetic of a request's store time, on a clock the test moves by hand.
import { expect } from 'chai';
import { QueryFailedError } from 'typeorm';
import { StoreBudget, withinBudget } from '../../src/db/store-budget.js';
import { StoreUnavailable } from '../../src/errors.js';

function budgetOnClock(timeoutMs: number) {
  const clock = { now: 0 };
  return { clock, budget: new StoreBudget('database', timeoutMs, () => clock.now) };
}

describe('store budget: what a request may still wait on a store', function () {
  it('starts at the timeout and shrinks by the time spent waiting, not by the time between calls', function () {
    const { clock, budget } = budgetOnClock(1000);
    expect(budget.remainingMs()).to.equal(1000);
    const end = budget.startWait();
    clock.now = 300;
    expect(budget.remainingMs(), 'while the call waits').to.equal(700);
    end();
    // A password hash, a page rendered: no store call pending, nothing spent.
    clock.now = 5000;
    expect(budget.remainingMs()).to.equal(700);
  });

  it('counts overlapping waits once', function () {
    const { clock, budget } = budgetOnClock(1000);
    const first = budget.startWait();
    clock.now = 100;
    const second = budget.startWait();
    clock.now = 300;
    first();
    expect(budget.remainingMs()).to.equal(700);
    clock.now = 400;
    second();
    expect(budget.remainingMs()).to.equal(600);
  });

  it('is spent once a call failed as unavailable, whatever time was left; an ordinary error spends nothing more', function () {
    const { budget } = budgetOnClock(1000);
    budget.startWait()(new QueryFailedError('INSERT', [], Object.assign(new Error('duplicate key'), { code: '23505' })));
    expect(budget.remainingMs(), 'a duplicate key is an answer').to.equal(1000);
    budget.startWait()(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(budget.remainingMs()).to.equal(0);
  });

  it('refuses a call at once when the time is up, with a 503, without making the call', async function () {
    const { clock, budget } = budgetOnClock(1000);
    const end = budget.startWait();
    clock.now = 1000;
    end();
    let made = false;
    const refused = await withinBudget(budget, async () => {
      made = true;
    }).catch((error: unknown) => error);
    expect(made).to.equal(false);
    expect(refused).to.be.instanceOf(StoreUnavailable);
  });

  it('gives up on a call when the time left runs out first, and counts it spent', async function () {
    const budget = new StoreBudget('redis', 20);
    const never = new Promise<never>(() => undefined);
    const given = await withinBudget(budget, () => never).catch((error: unknown) => error);
    expect(given).to.be.instanceOf(StoreUnavailable);
    expect(budget.remainingMs()).to.be.at.most(0);
  });
});
