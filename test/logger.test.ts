import { expect } from 'chai';
import { createLogger, logFormatFor } from '../src/logger.js';

/** A stream that keeps what is written to it; a terminal or not. */
function captured(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (text: string) => lines.push(text) } };
}

describe('logger', function () {
  it('chooses pretty lines on a terminal and JSON elsewhere under LOG_FORMAT=auto, and what it is told otherwise', function () {
    expect(logFormatFor('auto', { isTTY: true })).to.equal('pretty');
    expect(logFormatFor('auto', { isTTY: false })).to.equal('json');
    expect(logFormatFor('auto', {})).to.equal('json');
    expect(logFormatFor('json', { isTTY: true })).to.equal('json');
    expect(logFormatFor('pretty', { isTTY: false })).to.equal('pretty');
  });

  it('writes one JSON object per line in the json format, with the service named', function () {
    const { lines, stream } = captured(false);
    createLogger('info', { format: 'json', stream }).info({ port: 3001 }, 'listening');
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.include({ level: 30, service: 'chillfi3-auth', port: 3001, msg: 'listening' });
  });

  it('writes one readable line per record in the pretty format', function () {
    const { lines, stream } = captured(false);
    const logger = createLogger('info', { format: 'pretty', stream });
    logger.info({ issuer: 'http://localhost:3001', port: 3001, redis: false }, 'chillfi3-auth listening');
    logger.debug('below the level');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}chillfi3-auth listening issuer=http:\/\/localhost:3001 port=3001 redis=false\n$/);
  });

  it('redacts secrets in the pretty format as in JSON', function () {
    for (const format of ['json', 'pretty'] as const) {
      const { lines, stream } = captured(false);
      createLogger('info', { format, stream }).warn({ password: 'hunter22', client: { client_secret: 'sekrit' } }, 'careful');
      expect(lines.join(''), format).not.to.contain('hunter22').and.not.contain('sekrit');
      expect(lines.join(''), format).to.contain('[redacted]');
    }
  });
});
