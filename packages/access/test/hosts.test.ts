import { describe, expect, it } from 'vitest';
import { formatHost, isLoopbackHost } from '../src/index.js';

describe('hosts', () => {
  it('counts 127.0.0.0/8, ::1 (any spelling) and localhost as loopback, nothing else', () => {
    for (const host of [
      '127.0.0.1',
      '127.0.0.2',
      '127.255.255.254',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      'localhost',
      'LOCALHOST',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '10.0.0.1',
      '128.0.0.1',
      '::',
      '::ffff:10.0.0.1',
      'localhost.example.com',
      'a.localhost',
      '127.0.0.1.example.com',
      'example.com',
      '',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('puts IPv6 hosts in brackets once, other hosts as they are', () => {
    expect(formatHost('::1')).toBe('[::1]');
    expect(formatHost('[::1]')).toBe('[::1]');
    expect(formatHost('127.0.0.1')).toBe('127.0.0.1');
    expect(formatHost('example.com')).toBe('example.com');
  });
});
