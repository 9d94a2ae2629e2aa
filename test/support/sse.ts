// A Server-Sent Events reader for the tests: connects with fetch, parses events as they come, and waits for one.
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** Comment lines seen (": heartbeat"). */
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves with the first event (already received or to come) that `match` accepts; rejects after `timeoutMs`. */
  next(match: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when `count` comment lines matching `pattern` have come. */
  comment(pattern: RegExp, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function connectSse(url: string, headers: Record<string, string>): Promise<SseConnection & { body: unknown }> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  let body: unknown;
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  if (response.headers.get('content-type')?.startsWith('text/event-stream') && response.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event: SseEvent = { id: undefined, event: 'message', data: '' };
            let isEvent = false;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) {
                comments.push(line.slice(1).trim());
                continue;
              }
              const [field, value] = [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)];
              // An id alone moves the last event id only (as in browsers): no event.
              if (field === 'id') event.id = value;
              if (field === 'event') event.event = value;
              if (field === 'data') event.data = value;
              if (field === 'event' || field === 'data') isEvent = true;
            }
            if (isEvent) events.push(event);
            wake();
          }
        }
      } catch {
        // closed
      }
      markEnded();
    })();
  } else {
    const text = await response.text();
    body = text ? JSON.parse(text) : undefined;
  }
  function waitFor<T>(found: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }
  return {
    status: response.status,
    headers: response.headers,
    body,
    events,
    comments,
    ended,
    next: (match, timeoutMs = 3000) => waitFor(() => events.find(match), timeoutMs, 'matching event'),
    comment: (pattern, timeoutMs = 3000) => waitFor(() => (comments.some((line) => pattern.test(line)) ? true : undefined), timeoutMs, 'comment').then(() => undefined),
    close: () => abort.abort(),
  };
}
