import { appendFileSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchFileChanges, type FileChangeWatch } from '../../../src/process/file-change-watch.ts';

const POLL_MS = 50;
const settle = () => new Promise((resolve) => setTimeout(resolve, POLL_MS * 6));

describe('watchFileChanges', () => {
  let watch: FileChangeWatch | null = null;
  afterEach(() => watch?.close());

  it('fires when the file is rewritten or replaced by a rename, not when a neighbour in its directory is written', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tollgate-watch-'));
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(file, 'a: 1\n');
    let changes = 0;
    watch = watchFileChanges(file, () => changes++, POLL_MS);
    await settle();
    // The audit log and the ledger often live next to the config: their writes must not wake the watcher.
    for (let i = 0; i < 20; i++) appendFileSync(join(dir, 'policy-decisions.jsonl'), `{"n":${i}}\n`);
    await settle();
    expect(changes).toBe(0);
    writeFileSync(file, 'a: 22\n');
    await settle();
    expect(changes).toBe(1);
    // An editor's save: write a temporary file, rename it over the original.
    writeFileSync(join(dir, 'tmp.yaml'), 'a: 333\n');
    renameSync(join(dir, 'tmp.yaml'), file);
    await settle();
    expect(changes).toBe(2);
  });

  it('sees a Kubernetes ConfigMap update: the ..data symlink swapped to a new directory', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tollgate-watch-cm-'));
    // The kubelet's layout: tollgate.yaml -> ..data/tollgate.yaml, ..data -> a timestamped directory.
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'tollgate.yaml'), 'revision: 1\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/tollgate.yaml', join(dir, 'tollgate.yaml'));
    let changes = 0;
    watch = watchFileChanges(join(dir, 'tollgate.yaml'), () => changes++, POLL_MS);
    await settle();
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'tollgate.yaml'), 'revision: 2\n');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await settle();
    expect(changes).toBe(1);
  });

  it('waits while the file is missing and fires when it is back', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tollgate-watch-gone-'));
    const file = join(dir, 'bundle.tar.gz');
    writeFileSync(file, 'one');
    let changes = 0;
    watch = watchFileChanges(file, () => changes++, POLL_MS);
    await settle();
    renameSync(file, join(dir, 'aside'));
    await settle();
    expect(changes).toBe(0);
    writeFileSync(file, 'two, longer');
    await settle();
    expect(changes).toBe(1);
  });
});
