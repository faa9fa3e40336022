// The TypeScript examples in README.md, docs/*.md and the API's doc comments
// are code users paste: each must type-check against the library as published
// (`import ... from 'imix'`), and the README's quick start must run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';

const root = path.resolve(__dirname, '..');

interface Example {
  /** file:line of the opening fence, for messages. */
  where: string;
  code: string;
  /** A complete program (starts with an import) rather than a fragment. */
  complete: boolean;
}

/** ```ts blocks of a markdown file, or of the doc comments of a .ts file. */
function examplesIn(file: string): Example[] {
  const rel = path.relative(root, file);
  let lines = fs.readFileSync(file, 'utf8').split('\n');
  // In a doc comment every line starts with ` * `; strip that margin.
  if (file.endsWith('.ts')) lines = lines.map((l) => l.replace(/^\s*\* ?/, ''));
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i].trim() !== '```'; i++) body.push(lines[i]);
    const code = body.join('\n');
    out.push({ where: `${rel}:${start + 1}`, code, complete: /^\s*import\b/.test(code) });
  }
  return out;
}

function listFiles(dir: string, ext: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), ext) : e.name.endsWith(ext) ? [path.join(dir, e.name)] : []));
}

const sources = [
  path.join(root, 'README.md'),
  ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join(root, 'docs', f)),
  ...listFiles(path.join(root, 'lib'), '.ts'),
];
const examples = sources.flatMap(examplesIn);

// Fragments run inside a block after this prelude, so names they declare
// shadow the prelude's and the names they only use (train, sameOptions) exist.
const prelude = `import * as fs from 'node:fs';
import * as imix from 'imix';
import { MoCo, NPair, SimCLR, BYOL, data, views, evaluation, info, cudaAvailable } from 'imix';
declare const train: imix.data.Dataset;
declare const test: imix.data.Dataset;
declare const sameOptions: imix.MoCoOptions;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
`;

/** The file the type checker sees for one example. */
function checkedSource(ex: Example, exported: Set<string>): string {
  if (ex.complete) return ex.code;
  // An interface a doc spells out must be the one the library exports.
  const same = [...ex.code.matchAll(/\binterface\s+(\w+)/g)]
    .map((m) => m[1])
    .filter((name) => exported.has(name))
    .map((name) => `const _same${name}: Equal<${name}, imix.${name}> = true;`);
  return `${prelude}{\n${ex.code}\n${same.join('\n')}\n}\nexport {};\n`;
}

describe('documentation examples', () => {
  it('finds the examples', () => {
    const where = examples.map((e) => e.where);
    expect(where.some((w) => w.startsWith('README.md'))).toBe(true);
    expect(where.some((w) => w.startsWith('docs/getting-started.md'))).toBe(true);
    expect(where.some((w) => w.startsWith('lib/index.ts'))).toBe(true);
    expect(examples.length).toBeGreaterThanOrEqual(8);
  });

  it('every ```ts example type-checks against the library', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-docs-'));
    try {
      const index = path.join(root, 'lib', 'index.ts');
      const host0 = ts.createCompilerHost({});
      const exported = new Set<string>();
      {
        const p = ts.createProgram([index], { strict: true, skipLibCheck: true, types: [] }, host0);
        const sym = p.getTypeChecker().getSymbolAtLocation(p.getSourceFile(index)!);
        for (const s of p.getTypeChecker().getExportsOfModule(sym!)) exported.add(s.getName());
      }
      expect(exported.has('MixOptions')).toBe(true);

      const files = examples.map((ex, i) => {
        const f = path.join(dir, `example${i}.ts`);
        fs.writeFileSync(f, checkedSource(ex, exported));
        return f;
      });
      const options: ts.CompilerOptions = {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ES2022,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        esModuleInterop: true,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        baseUrl: root,
        paths: { imix: ['lib/index.ts'] },
      };
      // lib's ambient declarations, as tsconfig.json includes them.
      const ambient = listFiles(path.join(root, 'lib', 'types'), '.d.ts');
      const program = ts.createProgram([...files, ...ambient], options);
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
        .map((d) => {
          const i = files.indexOf(path.resolve(d.file!.fileName));
          const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
          return `${examples[i].where} (checked line ${line + 1}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
        });
      expect(problems).toEqual([]);
      // Any error outside the examples (in lib) would also be a broken example.
      const elsewhere = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.category === ts.DiagnosticCategory.Error)
        .map((d) => `${d.file ? path.relative(root, d.file.fileName) : '(options)'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      expect(elsewhere).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("the README's quick start runs (one epoch) and prints its results", async () => {
    const readme = examples.find((e) => e.where.startsWith('README.md') && e.complete && e.code.includes('.fit('));
    expect(readme).toBeDefined();
    const ckpt = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-readme-'));
    // Only the run length and where it writes change; each edit must apply.
    const edits: Array<[RegExp, string]> = [
      [/from 'imix'/g, `from ${JSON.stringify(path.join(root, 'lib', 'index'))}`],
      [/epochs: \d+/g, 'epochs: 1'],
      [/checkpointDir: '[^']*'/g, `checkpointDir: ${JSON.stringify(ckpt)}`],
    ];
    let code = readme!.code;
    for (const [re, to] of edits) {
      expect(code, `README example no longer matches ${re}`).toMatch(re);
      code = code.replace(re, to);
    }
    const file = path.join(root, 'test', `.readme-example-${process.pid}.ts`);
    fs.writeFileSync(file, code);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import(file);
      const printed = log.mock.calls.map((c) => String(c[0]));
      expect(printed[0]).toMatch(/^epoch 1: loss \d+\.\d{3}$/); // epochs are counted from 1 in events, as the CLI prints them
      const probe = printed.find((l) => l.startsWith('linear probe accuracy'));
      expect(probe).toMatch(/^linear probe accuracy: \d+\.\d%$/);
      // One epoch of MoCo already beats chance (10%) by far on Fashion-MNIST.
      expect(parseFloat(probe!.split(': ')[1])).toBeGreaterThan(50);
      expect(fs.readdirSync(ckpt).length).toBeGreaterThan(0);
    } finally {
      log.mockRestore();
      fs.rmSync(file, { force: true });
      fs.rmSync(ckpt, { recursive: true, force: true });
    }
  }, 120_000);
});
