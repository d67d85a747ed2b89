#!/usr/bin/env node
/** The wshub command. */
import { serve } from "./serve.js";
import { connect } from "./connect.js";
import { UsageError } from "./args.js";

const HELP = `Usage: wshub <command> [options]

Commands:
  serve      run a WebSocket server: chat, echo or broadcast (wshub serve --help)
  connect    connect to a WebSocket server, interactive or piped (wshub connect --help)

Options:
  -h, --help  show this help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "connect":
      return connect(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)} (expected serve or connect; see wshub --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A worker of `serve --workers` keeps an IPC channel to its primary, which would keep it alive: let it go.
    if (process.connected) process.disconnect();
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`wshub: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`wshub: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 1;
    }
    if (process.connected) process.disconnect();
  },
);
