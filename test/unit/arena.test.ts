import { describe, expect, it } from 'vitest';
import { Arena, ARENA_FILE_MAX } from '../../src/export/arena.js';

describe('export arena', () => {
  it('keeps copies at distinct offsets and gives the same bytes back', () => {
    const arena = Arena.create(1024);
    const a = Buffer.from('first');
    const b = Buffer.from('second!');
    const at = arena.keep(a);
    const bt = arena.keep(b);
    expect(at).toBe(0);
    expect(bt).toBe(a.length);
    a.fill(0); // the arena holds a copy, not a view of the caller's buffer
    expect(arena.view(at, 5).toString()).toBe('first');
    expect(arena.view(bt, 7).toString()).toBe('second!');
  });

  it('is shared: another view of the same memory sees what was kept', () => {
    const arena = Arena.create(64);
    const at = arena.keep(Buffer.from('shared'));
    const other = new Arena(arena.memory);
    expect(other.view(at, 6).toString()).toBe('shared');
    expect(other.keep(Buffer.from('x'))).toBe(6);
  });

  it('refuses files over the size limit and content that no longer fits', () => {
    const arena = Arena.create(ARENA_FILE_MAX * 2);
    expect(arena.keep(Buffer.alloc(ARENA_FILE_MAX + 1))).toBe(-1);
    expect(arena.keep(Buffer.alloc(ARENA_FILE_MAX))).toBe(0);
    expect(arena.keep(Buffer.alloc(ARENA_FILE_MAX - 1))).toBe(ARENA_FILE_MAX);
    expect(arena.keep(Buffer.alloc(2))).toBe(-1);
    expect(arena.keep(Buffer.alloc(1))).toBe(2 * ARENA_FILE_MAX - 1);
  });

  it('refuses a view outside its memory', () => {
    const arena = Arena.create(16);
    expect(() => arena.view(10, 7)).toThrow(RangeError);
    expect(() => arena.view(-1, 1)).toThrow(RangeError);
    expect(arena.view(10, 6).length).toBe(6);
  });
});
