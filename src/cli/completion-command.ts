import type { Command } from 'commander';
import { UsageError } from './exit-codes.js';
import { action } from './context.js';

/* `gale completion bash|zsh|fish`: a completion script for the commands and subcommands, read off the program. */

interface Tree {
  name: string;
  description: string;
  subcommands: Tree[];
  options: string[];
}

function treeOf(command: Command): Tree {
  return {
    name: command.name(),
    description: command.description().replace(/['"`$\\]/g, ''),
    subcommands: command.commands.filter((c) => c.name() !== 'help').map(treeOf),
    options: command.options.map((o) => o.long).filter((o): o is string => o !== undefined),
  };
}

function bash(root: Tree): string {
  const cases = root.subcommands
    .filter((c) => c.subcommands.length > 0)
    .map((c) => `    ${c.name}) words="${c.subcommands.map((s) => s.name).join(' ')}" ;;`)
    .join('\n');
  return `# gale completion for bash: source <(gale completion bash)
_gale() {
  local cur words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${root.subcommands.map((c) => c.name).join(' ')} --help --version"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${cases}
    *) words="--help" ;;
    esac
  else
    words="--profile --output --help --wait --yes --quiet --timeout"
  fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _gale gale
`;
}

function zsh(root: Tree): string {
  const list = (trees: Tree[]): string => trees.map((t) => `'${t.name}:${t.description.replace(/:/g, ' ')}'`).join(' ');
  const cases = root.subcommands
    .filter((c) => c.subcommands.length > 0)
    .map((c) => `        ${c.name}) _describe 'command' '(${list(c.subcommands).replace(/'/g, '"')})' ;;`)
    .join('\n');
  return `#compdef gale
# gale completion for zsh: gale completion zsh > "\${fpath[1]}/_gale"
_gale() {
  local -a commands
  if (( CURRENT == 2 )); then
    commands=(${list(root.subcommands)})
    _describe 'command' commands
  elif (( CURRENT == 3 )); then
    case "$words[2]" in
${cases}
    esac
  else
    _arguments '--profile[profile to use]:profile:' '--output[output format]:format:(table json yaml)' '--help[show help]'
  fi
}
compdef _gale gale
`;
}

function fish(root: Tree): string {
  const lines = ['# gale completion for fish: gale completion fish > ~/.config/fish/completions/gale.fish', 'complete -c gale -f'];
  for (const command of root.subcommands) {
    lines.push(`complete -c gale -n __fish_use_subcommand -a ${command.name} -d '${command.description}'`);
    for (const sub of command.subcommands) {
      lines.push(`complete -c gale -n '__fish_seen_subcommand_from ${command.name}' -a ${sub.name} -d '${sub.description}'`);
    }
  }
  lines.push("complete -c gale -l profile -d 'profile to use' -r", "complete -c gale -l output -s o -d 'output format' -xa 'table json yaml'");
  return `${lines.join('\n')}\n`;
}

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .action(
      action(async (shell: string) => {
        const root = treeOf(program);
        const scripts: Record<string, (tree: Tree) => string> = { bash, zsh, fish };
        const render = scripts[shell];
        if (!render) throw new UsageError(`no completion for "${shell}": bash, zsh or fish`);
        process.stdout.write(render(root));
      }),
    );
}
