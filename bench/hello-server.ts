// The benchmark's baseline: the smallest Koa app, on the loopback port given in PORT. Prints "listening" when ready.
import Koa from 'koa';

const app = new Koa();
app.use((ctx) => {
  ctx.body = 'Hello, world';
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
