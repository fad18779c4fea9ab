import { isIPv4 } from "node:net";

/** A host name as the components use it: the hostname, the X-OKOME-Node header. */
export const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True for an IPv4 address or an IPv4 CIDR. */
export function isAddressOrCidr(text: string): boolean {
  const [address, bits, ...rest] = text.split("/");
  if (rest.length > 0 || !isIPv4(address)) return false;
  return bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32);
}

/** True for an IPv4 CIDR (`192.168.86.0/24`); a bare address is not one. */
export const isCidr = (text: string) => text.includes("/") && isAddressOrCidr(text);

export const isPort = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;

/** True for an integer from `min` to `max`. */
export const isIntegerIn = (value: number, min: number, max: number) =>
  Number.isInteger(value) && value >= min && value <= max;
