import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** What an earlier tree shares with this one instead of installing it again (ignored by git, so absent from a worktree). */
const SHARED = ['node_modules', '.venv', '.tools', 'src/generated', 'policies/build'];

/** An earlier commit checked out into a temporary git worktree that uses this tree's installed tools. */
export function worktreeOf(projectRoot: string, ref: string): { root: string; remove(): void } {
  const root = mkdtempSync(join(os.tmpdir(), 'tollgate-before-'));
  rmSync(root, { recursive: true, force: true });
  execFileSync('git', ['worktree', 'add', '--detach', root, ref], { cwd: projectRoot, stdio: 'pipe' });
  for (const path of SHARED) {
    if (existsSync(join(projectRoot, path)) && !existsSync(join(root, path))) symlinkSync(join(projectRoot, path), join(root, path));
  }
  return {
    root,
    remove: () => execFileSync('git', ['worktree', 'remove', '--force', root], { cwd: projectRoot, stdio: 'pipe' }),
  };
}
