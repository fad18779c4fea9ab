/** The Debian packages a node of the pair needs (HardenedPi checks them before anything runs). */
export function vipPairPackages(): string[] {
  // keepalived; nft for the VRRP filter; curl for the edge check
  return ["keepalived", "nftables", "curl"];
}
