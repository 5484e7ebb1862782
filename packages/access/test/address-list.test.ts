import { describe, expect, it } from 'vitest';
import { AddressList, InvalidAddressError, unmapIPv4 } from '../src/index.js';

describe('AddressList: IP addresses and CIDR ranges', () => {
  it('matches addresses and CIDR ranges, IPv4, IPv6 and IPv4-mapped IPv6', () => {
    const list = new AddressList(['10.0.0.0/8', '127.0.0.2', 'fd00::/8', '::1']);
    expect(list.has('10.1.2.3')).toBe(true);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('127.0.0.2')).toBe(true);
    expect(list.has('::ffff:127.0.0.2')).toBe(true);
    expect(list.has('127.0.0.1')).toBe(false);
    expect(list.has('fd12::5')).toBe(true);
    expect(list.has('::1')).toBe(true);
    expect(list.has('fe80::1')).toBe(false);
    expect(list.has('not-an-ip')).toBe(false);
    expect(list.remove('10.0.0.0/8')).toBe(true);
    expect(list.has('10.1.2.3')).toBe(false);
    expect(() => list.add('10.0.0.0/33')).toThrow(
      expect.objectContaining({
        code: InvalidAddressError.code,
        path: 'entry',
        message: 'invalid address at entry: prefix of "10.0.0.0/33" must be 0 to 32',
      }),
    );
    expect(() => list.add('fd00::/129')).toThrow(/prefix of "fd00::\/129" must be 0 to 128/);
    expect(() => list.add('not-an-ip')).toThrow(/expected an IP address or CIDR range, got "not-an-ip"/);
    expect(() => list.add('10.0.0.0/x')).toThrow(/prefix of "10.0.0.0\/x" must be 0 to 32/);
  });

  it('normalises entries, replaces them all or none with set(), and throws the error it was given', () => {
    const list = new AddressList(['10.0.0.0/08', ' ::FFFF:192.168.0.1 ', 'FD00::/8']);
    expect(list.entries()).toEqual(['10.0.0.0/8', '192.168.0.1', 'fd00::/8']);
    expect(list.add('10.0.0.0/8')).toBe(false);
    expect(list.remove('192.168.0.1')).toBe(true);
    expect(list.remove('192.168.0.1')).toBe(false);
    expect(() => list.set(['1.2.3.4', 'bogus'])).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_ADDRESS', path: 'list[1]' }),
    );
    expect(list.size).toBe(2);
    list.set(['1.2.3.4']);
    expect([list.has('1.2.3.4'), list.has('10.0.0.1')]).toEqual([true, false]);
    list.clear();
    expect(list.matches('1.2.3.4')).toBe(false);
    expect(() => new AddressList(['1.2.3.4', '300.0.0.1'], 'access.allow')).toThrow(expect.objectContaining({ path: 'access.allow[1]' }));
    const custom = new AddressList([], 'allow', (path, message) => Object.assign(new Error(message), { where: path }));
    expect(() => custom.add('10.0.0.0/33')).toThrow(
      expect.objectContaining({ where: 'entry', message: 'prefix of "10.0.0.0/33" must be 0 to 32' }),
    );
  });

  it('unmaps IPv4-mapped IPv6 addresses only', () => {
    expect(unmapIPv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapIPv4('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapIPv4('::1')).toBe('::1');
    expect(unmapIPv4('10.0.0.1')).toBe('10.0.0.1');
  });
});
