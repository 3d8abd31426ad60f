import { DomainRuleError, isLedgerError, LedgerError, NotFoundError } from '@ledger/domain';
import t from 'tap';

t.test('domain errors carry a stable code, details and their class name', async (t) => {
  const error = new DomainRuleError('claim-retracted', 'the claim was retracted', { claimId: 'c1' });
  t.ok(error instanceof LedgerError);
  t.ok(error instanceof Error);
  t.equal(error.name, 'DomainRuleError');
  t.equal(error.code, 'claim-retracted');
  t.same(error.details, { claimId: 'c1' });
  t.equal(error.message, 'the claim was retracted');

  const notFound = new NotFoundError('claim-not-found', 'no claim c1');
  t.equal(notFound.name, 'NotFoundError');
  t.equal(notFound.details, undefined);
  t.equal(new LedgerError('concurrency-conflict', 'moved on').name, 'LedgerError');
});

t.test('the brand does not show in logs or JSON', async (t) => {
  const error = new NotFoundError('claim-not-found', 'no claim c1', { claimId: 'c1' });
  t.same(Object.getOwnPropertySymbols(error), []);
  t.notMatch(JSON.stringify({ ...error }), /ledger/i);
});

t.test('isLedgerError', async (t) => {
  t.test('recognises the classes of this copy and of subclasses elsewhere', async (t) => {
    class ConcurrencyError extends LedgerError {
      override readonly name = 'ConcurrencyError';
    }
    t.ok(isLedgerError(new DomainRuleError('stated-before-claim', 'too early')));
    t.ok(isLedgerError(new NotFoundError('claim-not-found', 'gone')));
    t.ok(isLedgerError(new ConcurrencyError('concurrency-conflict', 'moved on')));
  });

  t.test('recognises an error from another copy of the package by its brand', async (t) => {
    const foreign = Object.assign(Object.create({ [Symbol.for('@ledger/domain.LedgerError')]: true }), {
      name: 'SomethingError',
      code: 'claim-retracted',
      message: 'retracted',
    });
    t.ok(isLedgerError(foreign));
  });

  t.test('recognises a ledger error that lost its prototype by name and kebab-case code', async (t) => {
    t.ok(isLedgerError({ name: 'DomainRuleError', code: 'confirmer-not-official', message: 'no' }));
    t.ok(isLedgerError({ name: 'ConcurrencyError', code: 'concurrency-conflict', message: 'moved on' }));
  });

  t.test('rejects everything else', async (t) => {
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    t.notOk(isLedgerError(enoent), 'Node system errors have upper-case codes');
    t.notOk(isLedgerError({ name: 'NotFoundError', code: 'ERR_NOT_FOUND', message: 'x' }));
    t.notOk(isLedgerError({ name: 'TypeError', code: 'claim-not-found', message: 'x' }));
    t.notOk(isLedgerError({ name: 'NotFoundError', code: 404, message: 'x' }));
    t.notOk(isLedgerError({ name: 'NotFoundError', code: 'claim-not-found' }));
    t.notOk(isLedgerError({ name: 7, code: 'claim-not-found', message: 'x' }));
    t.notOk(isLedgerError(new Error('plain')));
    t.notOk(isLedgerError(null));
    t.notOk(isLedgerError('claim-not-found'));
    t.notOk(isLedgerError(undefined));
  });
});
