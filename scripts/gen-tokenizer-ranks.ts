/**
 * Writes the o200k_base rank table (src/tokenizer/o200k-ranks.ts) as the binary the token counter loads in one read:
 * src/tokenizer/o200k_base.ranks by default (scripts/setup), or the path given (`npm run build` writes it into dist/).
 * Generated from gpt-tokenizer's rank file rather than committed: 4.3 MB that would change with every format tweak.
 *   node scripts/gen-tokenizer-ranks.ts [OUT]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RANKS_BINARY_URL, encodeRankTable, rankTableFromTiktokenFile } from '../src/tokenizer/o200k-ranks.ts';

const out = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(RANKS_BINARY_URL);
const file = encodeRankTable(rankTableFromTiktokenFile());
mkdirSync(dirname(out), { recursive: true });
// Written beside and renamed, so a gateway starting meanwhile never reads half a file.
writeFileSync(`${out}.tmp`, file);
renameSync(`${out}.tmp`, out);
process.stdout.write(`wrote ${out} (${file.length} bytes)\n`);
