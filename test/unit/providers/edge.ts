/** The lab edge as the host providers' wire inputs name it, for tests that never connect. */
export const EDGE_CONNECTION = {
  name: "okome-edge",
  address: "10.86.0.20",
  port: 22,
  user: "okome",
  privateKeyPath: "/k",
};
/** What state records about the edge once a resource reached it. */
export const EDGE_STATE = { host: "okome-edge", hostKey: "ssh-ed25519 AAAA" };
