// What a person starting a fresh server at a terminal needs first: where to go and what to type, set apart from the
// log lines around it. Printed beside the structured log line (src/main.ts), in the pretty log format only: a log
// collector has the line and its fields.

/** The banner for a server that has no admin yet: the first-run address and this start's setup token. */
export function setupBanner(url: string, setupToken: string): string {
  const lines = [
    'No admin yet. To create the first one, open:',
    `    ${url}`,
    'From another machine, or on PostgreSQL, the page asks for this setup token (good until an admin exists):',
    `    ${setupToken}`,
    'Or create the admin from a shell:',
    '    npx chillfi3-auth users add --username admin --password-stdin --admin',
  ];
  const rule = '='.repeat(Math.max(...lines.map((line) => line.length)));
  return `\n${rule}\n${lines.join('\n')}\n${rule}\n\n`;
}
