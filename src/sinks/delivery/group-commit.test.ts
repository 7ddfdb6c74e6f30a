import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('group commit', () => {
  it('commits entries added together, and those added during a commit, in few groups', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number, string>(async (entries) => {
      groups.push([...entries]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return entries.map((entry) => `done ${entry}`);
    });
    const first = Array.from({ length: 50 }, (_, index) => commit.add(index));
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = Array.from({ length: 50 }, (_, index) => commit.add(50 + index));
    const results = await Promise.all([...first, ...second]);
    expect(results[7]).toBe('done 7');
    expect(results[77]).toBe('done 77');
    expect(groups.map((group) => group.length)).toEqual([50, 50]);
    expect(groups.flat()).toEqual(Array.from({ length: 100 }, (_, index) => index));
  });

  it('rejects every entry of a failed group, and later groups still commit', async () => {
    let fail = true;
    const commit = new GroupCommit<number, number>(async (entries) => {
      await Promise.resolve();
      if (fail) throw new Error('disk full');
      return [...entries];
    });
    const failed = [commit.add(1), commit.add(2)];
    await expect(failed[0]).rejects.toThrow('disk full');
    await expect(failed[1]).rejects.toThrow('disk full');
    fail = false;
    await expect(commit.add(3)).resolves.toBe(3);
  });

  it('idle waits for the commits under way', async () => {
    let committed = 0;
    const commit = new GroupCommit<number, number>(async (entries) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      committed += entries.length;
      return [...entries];
    });
    void commit.add(1);
    void commit.add(2);
    await commit.idle();
    expect(committed).toBe(2);
    expect(commit.pending).toBe(0);
  });
});
