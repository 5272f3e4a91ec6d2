/**
 * One door (issue 15): the engine's command outcomes are data, never English — transports word
 * them (src/present, once, for the bot and the CLI). This guard reads every exported outcome type
 * of src/engine with the TypeScript compiler and fails on a `message` or `text` field in any of
 * its members. The only `message` fields left are the records' own details, named here: a gate's
 * refusal (GateDenial, stored in the evidence and beads) and a promotion's unmet requirement
 * (MissingItem, stored and hashed in the promotion bundle).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '../../src/engine');
const OUTCOME = /(Outcome|Report|Result|Request)$/;
const WORDS = new Set(['message', 'text']);

/** `File.ts: Type.member` for every outcome type member that carries words. */
function wordyMembers(): { checked: string[]; wordy: string[] } {
  const checked: string[] = [];
  const wordy: string[] = [];
  const files = readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of files) {
    const src = ts.createSourceFile(f, readFileSync(join(DIR, f), 'utf8'), ts.ScriptTarget.Latest, true);
    const visitMembers = (name: string, node: ts.Node): void => {
      if ((ts.isPropertySignature(node) || ts.isPropertyAssignment(node)) && node.name && WORDS.has(node.name.getText(src))) wordy.push(`${f}: ${name}.${node.name.getText(src)}`);
      ts.forEachChild(node, (c) => visitMembers(name, c));
    };
    ts.forEachChild(src, (node) => {
      const exported = (ts.isTypeAliasDeclaration(node) || ts.isInterfaceDeclaration(node)) && node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported || !OUTCOME.test(node.name.text)) return;
      checked.push(node.name.text);
      visitMembers(node.name.text, node);
    });
  }
  return { checked, wordy };
}

describe('one door: engine outcomes are data (issue 15)', () => {
  it('no exported outcome type of src/engine carries words (`message` / `text`)', () => {
    const { checked, wordy } = wordyMembers();
    // the guard reads what it should: the command outcomes transports word
    for (const t of ['KillOutcome', 'ConfirmOutcome', 'ConfirmRequest', 'DecisionOutcome', 'DriftOutcome', 'ReprotectOutcome', 'SnoozeOutcome', 'StrategyOutcome', 'PromotionRequestOutcome', 'PromotionDecisionOutcome', 'FlattenReport', 'ReconcileResult', 'SubmitOutcome']) expect(checked).toContain(t);
    expect(wordy).toEqual([]);
  });
});
