/** The `ats-agent service …` command line; bad usage exits 2 like the agent's own flags. */
import { Command, CommanderError, Option } from 'commander';
import { ExitCode } from '../../core/protocol/codes.js';
import { CliExit } from '../options.js';
import { install, status, uninstall, type ServiceFlags, type ServiceIo } from './install.js';

function scopeOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--system', 'a service of the machine, started at boot (needs an administrator)').conflicts('user'),
    )
    .addOption(new Option('--user', "your own user's service (the default on Linux and macOS)").conflicts('system'))
    .option(
      '--dry-run',
      'write nothing and run nothing: print each file (# <path>, then its content) and each command (# run: …)',
    )
    .addOption(
      new Option('--platform <os>', 'with --dry-run: show what it would be on another system').choices([
        'linux',
        'darwin',
        'win32',
      ]),
    );
}

export async function runServiceCommand(argv: string[], io: ServiceIo): Promise<number> {
  let code: number = ExitCode.OK;
  const program = new Command('ats-agent service')
    .description('Run the agent as a service of the system: systemd on Linux, launchd on macOS, WinSW on Windows.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => io.err(s), writeOut: (s) => io.out(s) })
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false);
  scopeOptions(
    program
      .command('install')
      .description(
        'install the service and start it: it runs this same agent (the single file, or node and this cli.js)',
      )
      .option('--run-as <user>', 'with --system: the account the agent and its tasks run as')
      .option('--config <file>', 'the YAML config the service starts with (checked now)')
      .option(
        '--token-file <file>',
        'the file that holds the token (or ATS_AGENT_TOKEN_FILE); never put on a command line',
      ),
  ).action((_args, cmd: Command) => {
    code = install(cmd.opts<ServiceFlags>(), io);
  });
  scopeOptions(program.command('uninstall').description('stop the service and remove its file')).action(
    (_args, cmd: Command) => {
      code = uninstall(cmd.opts<ServiceFlags>(), io);
    },
  );
  scopeOptions(
    program.command('status').description('is it installed, and what the service manager says (exit 0: running)'),
  ).action((_args, cmd: Command) => {
    code = status(cmd.opts<ServiceFlags>(), io);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new CliExit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    throw err;
  }
  return code;
}
