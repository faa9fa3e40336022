// OpenBLAS's kernel set, chosen by imix from the CPU flags before the addon
// loads (lib/util/openblas-core.ts): the rule on cpuinfo texts of real CPUs,
// the user's OPENBLAS_CORETYPE kept, and, in a child process, the kernel set
// OpenBLAS reports once loaded.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { info } from '../lib';
import { openblasCoreFor, pinOpenblasCore } from '../lib/util/openblas-core';

const cpu = (vendor: string, flags: string) => `processor\t: 0\nvendor_id\t: ${vendor}\nflags\t\t: fpu sse sse2 ${flags}\n\nprocessor\t: 1\nvendor_id\t: other\nflags\t\t: sse\n`;
const avx512 = 'avx avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl';

describe('openblasCoreFor', () => {
  it('maps AVX-512 with BF16 to Cooperlake (Emerald Rapids, Zen 4/5)', () => {
    expect(openblasCoreFor(cpu('GenuineIntel', `${avx512} avx512_bf16 avx512_fp16`))).toBe('Cooperlake');
    expect(openblasCoreFor(cpu('AuthenticAMD', `${avx512} avx512_bf16`))).toBe('Cooperlake');
  });

  it('maps AVX-512 without BF16 to SkylakeX, and needs all five AVX-512 subsets', () => {
    expect(openblasCoreFor(cpu('GenuineIntel', avx512))).toBe('SkylakeX');
    // Knights Landing: AVX-512F/CD but no BW/DQ/VL, so the AVX2 kernels
    expect(openblasCoreFor(cpu('GenuineIntel', 'avx avx2 fma avx512f avx512cd avx512er'))).toBe('Haswell');
  });

  it('maps AVX2 + FMA to Haswell on Intel and Zen on AMD and Hygon', () => {
    expect(openblasCoreFor(cpu('GenuineIntel', 'avx avx2 fma'))).toBe('Haswell');
    expect(openblasCoreFor(cpu('AuthenticAMD', 'avx avx2 fma'))).toBe('Zen');
    expect(openblasCoreFor(cpu('HygonGenuine', 'avx avx2 fma'))).toBe('Zen');
  });

  it('leaves older CPUs and unreadable text to OpenBLAS', () => {
    expect(openblasCoreFor(cpu('GenuineIntel', 'avx'))).toBeUndefined();
    expect(openblasCoreFor(cpu('GenuineIntel', 'avx2'))).toBeUndefined(); // AVX2 without FMA
    expect(openblasCoreFor('')).toBeUndefined();
  });

  it('reads the first processor only', () => {
    const text = cpu('GenuineIntel', 'sse4_2') + cpu('GenuineIntel', avx512);
    expect(openblasCoreFor(text)).toBeUndefined();
  });
});

describe('pinOpenblasCore', () => {
  const read = () => cpu('GenuineIntel', avx512);

  it('sets OPENBLAS_CORETYPE from the flags when unset', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(pinOpenblasCore(env, read, 'linux', 'x64')).toBe('cpu flags');
    expect(env.OPENBLAS_CORETYPE).toBe('SkylakeX');
  });

  it('keeps a value the user set', () => {
    const env: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell' };
    expect(pinOpenblasCore(env, read, 'linux', 'x64')).toBe('OPENBLAS_CORETYPE');
    expect(env.OPENBLAS_CORETYPE).toBe('Haswell');
  });

  it('leaves other platforms, old CPUs and an unreadable /proc to OpenBLAS', () => {
    for (const [r, platform, arch] of [
      [read, 'darwin', 'x64'],
      [read, 'linux', 'arm64'],
      [() => cpu('GenuineIntel', 'sse4_2'), 'linux', 'x64'],
      [() => { throw new Error('ENOENT'); }, 'linux', 'x64'],
    ] as const) {
      const env: NodeJS.ProcessEnv = {};
      expect(pinOpenblasCore(env, r, platform, arch)).toBe('openblas');
      expect(env.OPENBLAS_CORETYPE).toBeUndefined();
    }
  });
});

describe('the kernel set in effect', () => {
  const i = info();
  const child = (env: NodeJS.ProcessEnv) => {
    const script = `process.stdout.write(JSON.stringify((({blasCore, blasCoreSource}) => ({blasCore, blasCoreSource}))(require(${JSON.stringify(path.resolve(__dirname, '../dist/lib/index.js'))}).info())))`;
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as { blasCore: string; blasCoreSource: string };
  };
  const base = () => {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    return env;
  };

  it.runIf(i.blas === 'openblas' && process.platform === 'linux' && process.arch === 'x64')(
    'is the one the CPU flags name when the user sets none, and the user\'s when they do',
    () => {
      const want = openblasCoreFor(fs.readFileSync('/proc/cpuinfo', 'utf8'));
      const got = child(base());
      if (want) expect(got).toEqual({ blasCore: want, blasCoreSource: 'cpu flags' });
      else expect(got.blasCoreSource).toBe('openblas');
      // Prescott runs on every x86-64 CPU, so it is always a valid pick
      expect(child({ ...base(), OPENBLAS_CORETYPE: 'Prescott' })).toEqual({ blasCore: 'Prescott', blasCoreSource: 'OPENBLAS_CORETYPE' });
    },
  );
});
