import { expect } from 'chai';
import { formatRecord, prettyLog } from '../src/pretty-log.js';

const AT = Date.UTC(2026, 0, 31, 12, 4, 5, 123);

describe('pretty log lines', function () {
  it('puts time, level and message first, then the fields as key=value, quoting what has spaces', function () {
    const line = formatRecord({ level: 40, time: AT, service: 'chillfi3-auth', msg: 'no admin yet', url: 'http://localhost:3001/', setupToken: 'abc_DEF-123', note: 'two words', n: 3, nested: { a: [1] } });
    expect(line).to.equal('12:04:05.123 WARN  no admin yet url=http://localhost:3001/ setupToken=abc_DEF-123 note="two words" n=3 nested={"a":[1]}\n');
  });

  it('prints an error\'s stack indented under its line', function () {
    const line = formatRecord({ level: 50, time: AT, msg: 'request failed', path: '/x', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.ts:1:1)' } });
    expect(line).to.equal('12:04:05.123 ERROR request failed path=/x\n    Error: boom\n        at f (a.ts:1:1)\n');
  });

  it('colours the level on a terminal only', function () {
    const written: string[] = [];
    const record = JSON.stringify({ level: 30, time: AT, msg: 'hello' });
    prettyLog({ isTTY: true, write: (text: string) => written.push(text) }).write(record);
    prettyLog({ isTTY: false, write: (text: string) => written.push(text) }).write(record);
    expect(written).to.deep.equal(['12:04:05.123 \x1b[32mINFO \x1b[0m hello\n', '12:04:05.123 INFO  hello\n']);
  });
});
