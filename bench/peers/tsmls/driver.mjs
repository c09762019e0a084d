// mlslab interop driver for ts-mls (RFC 9420 in TypeScript).
//
// Protocol: one JSON object per line on stdin, one JSON object per line on
// stdout, answered strictly in order. Every request has "id" (echoed back)
// and "cmd"; every byte string is lowercase hex. Replies are
// {"id":N,"ok":true,...} or {"id":N,"ok":false,"error":"..."}. Messages
// (key packages, commits, welcomes, proposals, application messages, group
// infos) travel as encoded MLSMessage (RFC 9420 §6); ratchet trees as the
// bare ratchet_tree encoding (RFC 9420 §12.4.3.3).
//
// One process hosts any number of ts-mls clients, addressed by "client"
// (a name chosen by the caller). See README.md for the command list.

import { createInterface } from "node:readline";
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPub,
  createGroupInfoWithExternalPubAndRatchetTree,
  createProposal,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  joinGroupExternal,
  mlsExporter,
  processMessage,
} from "ts-mls";
import { decodeRatchetTree, encodeRatchetTree } from "ts-mls/ratchetTree.js";
import { getCiphersuiteFromId, getCiphersuiteNameFromId } from "ts-mls/crypto/ciphersuite.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";

const clients = new Map(); // name -> { impl, kp, state, publicHandshake }
const impls = new Map(); // suite id -> CiphersuiteImpl

const enc = new TextEncoder();

function fromHex(h) {
  if (typeof h !== "string" || h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) {
    throw new Error("bad hex");
  }
  return new Uint8Array(Buffer.from(h, "hex"));
}

function toHex(b) {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

async function suiteImpl(id) {
  let impl = impls.get(id);
  if (impl === undefined) {
    impl = await getCiphersuiteImpl(getCiphersuiteFromName(getCiphersuiteNameFromId(id)));
    impls.set(id, impl);
  }
  return impl;
}

const nistCurves = { P256: p256, P384: p384, P521: p521 };

// newKeyPackage makes a KeyPackage with a basic credential named name.
//
// RFC 9420 §5.1.1: an ECDSA SignaturePublicKey is an uncompressed point.
// ts-mls 1.6.4's key generation returns compressed points (noble's
// getPublicKey default), which RFC-conformant peers reject, so unless
// req.compressed_signature_key is set the driver generates the key itself
// and hands ts-mls the uncompressed encoding (ts-mls verifies either form).
//
// req.kp_extensions, a list of {type, data}, become KeyPackage.extensions
// as given (not added to the capabilities): how other implementations send
// GREASE KeyPackage extensions (RFC 9420 §13.5).
async function newKeyPackage(name, suite, impl, req) {
  const cred = { credentialType: "basic", identity: enc.encode(name) };
  const exts = (req.kp_extensions ?? []).map((e) => ({ extensionType: e.type, extensionData: fromHex(e.data) }));
  const curve = nistCurves[getCiphersuiteFromId(suite).signature];
  if (curve === undefined || req.compressed_signature_key) {
    return generateKeyPackage(cred, defaultCapabilities(), defaultLifetime, exts, impl);
  }
  const { signKey } = await impl.signature.keygen();
  const keys = { signKey, publicKey: curve.getPublicKey(signKey, false) };
  return generateKeyPackageWithKey(cred, defaultCapabilities(), defaultLifetime, exts, keys, impl);
}

function client(name) {
  const c = clients.get(name);
  if (c === undefined) throw new Error(`unknown client ${name}`);
  return c;
}

function member(name) {
  const c = client(name);
  if (c.state === undefined) throw new Error(`client ${name} is not in a group`);
  return c;
}

function decodeMessage(hex) {
  const bytes = fromHex(hex);
  const r = decodeMlsMessage(bytes, 0);
  if (r === undefined) throw new Error("cannot decode MLSMessage");
  if (r[1] !== bytes.length) throw new Error(`MLSMessage has ${bytes.length - r[1]} trailing bytes`);
  return r[0];
}

function decodeTree(hex) {
  const bytes = fromHex(hex);
  const r = decodeRatchetTree(bytes, 0);
  if (r === undefined || r[1] !== bytes.length) throw new Error("cannot decode ratchet tree");
  return r[0];
}

function encodeMessage(m) {
  return toHex(encodeMlsMessage({ version: "mls10", ...m }));
}

function stateInfo(c) {
  const s = c.state;
  return {
    epoch: Number(s.groupContext.epoch),
    leaf_index: s.privatePath.leafIndex,
    tree_hash: toHex(s.groupContext.treeHash),
    epoch_authenticator: toHex(s.keySchedule.epochAuthenticator),
    active: s.groupActiveState.kind === "active",
  };
}

// Performs a commit of c with extra proposals and returns commit + welcome.
async function commit(c, req, proposals) {
  const r = await createCommit(
    { state: c.state, cipherSuite: c.impl },
    {
      extraProposals: proposals,
      ratchetTreeExtension: req.inline_tree ?? true,
      wireAsPublicMessage: c.publicHandshake,
    },
  );
  c.state = r.newState;
  const out = { commit: encodeMessage(r.commit), ...stateInfo(c) };
  if (r.welcome !== undefined) out.welcome = encodeMessage({ wireformat: "mls_welcome", welcome: r.welcome });
  return out;
}

const commands = {
  async key_package(req) {
    const impl = await suiteImpl(req.suite);
    const kp = await newKeyPackage(req.client, req.suite, impl, req);
    clients.set(req.client, { impl, kp, state: undefined, publicHandshake: !!req.public_handshake });
    return { key_package: encodeMessage({ wireformat: "mls_key_package", keyPackage: kp.publicPackage }) };
  },

  async create_group(req) {
    const impl = await suiteImpl(req.suite);
    const kp = await newKeyPackage(req.client, req.suite, impl, req);
    const c = { impl, kp, state: undefined, publicHandshake: !!req.public_handshake };
    c.state = await createGroup(fromHex(req.group_id), kp.publicPackage, kp.privatePackage, [], impl);
    clients.set(req.client, c);
    return stateInfo(c);
  },

  async join(req) {
    const c = client(req.client);
    const m = decodeMessage(req.welcome);
    if (m.wireformat !== "mls_welcome") throw new Error(`expected welcome, got ${m.wireformat}`);
    const tree = req.tree ? decodeTree(req.tree) : undefined;
    c.state = await joinGroup(m.welcome, c.kp.publicPackage, c.kp.privatePackage, emptyPskIndex, c.impl, tree);
    return stateInfo(c);
  },

  async external_join(req) {
    const impl = await suiteImpl(req.suite);
    const m = decodeMessage(req.group_info);
    if (m.wireformat !== "mls_group_info") throw new Error(`expected group info, got ${m.wireformat}`);
    // ts-mls 1.6.4 takes external_pub as the bare key (README.md).
    const gi = m.groupInfo;
    const kp = await newKeyPackage(req.client, req.suite, impl, req);
    const tree = req.tree ? decodeTree(req.tree) : undefined;
    const r = await joinGroupExternal(gi, kp.publicPackage, kp.privatePackage, false, impl, tree);
    const c = { impl, kp, state: r.newState, publicHandshake: !!req.public_handshake };
    clients.set(req.client, c);
    return {
      commit: encodeMessage({ wireformat: "mls_public_message", publicMessage: r.publicMessage }),
      ...stateInfo(c),
    };
  },

  async add(req) {
    const c = member(req.client);
    const proposals = req.key_packages.map((h) => {
      const m = decodeMessage(h);
      if (m.wireformat !== "mls_key_package") throw new Error(`expected key package, got ${m.wireformat}`);
      return { proposalType: "add", add: { keyPackage: m.keyPackage } };
    });
    return commit(c, req, proposals);
  },

  async update(req) {
    // An empty commit: RFC 9420 §12.4 requires a path, i.e. a full update.
    return commit(member(req.client), req, []);
  },

  async remove(req) {
    const c = member(req.client);
    return commit(c, req, req.indexes.map((i) => ({ proposalType: "remove", remove: { removed: i } })));
  },

  // commit commits the proposals received so far (by reference) and nothing else.
  async commit(req) {
    return commit(member(req.client), req, []);
  },

  async propose_add(req) {
    const c = member(req.client);
    const m = decodeMessage(req.key_package);
    if (m.wireformat !== "mls_key_package") throw new Error(`expected key package, got ${m.wireformat}`);
    return propose(c, { proposalType: "add", add: { keyPackage: m.keyPackage } });
  },

  async propose_remove(req) {
    return propose(member(req.client), { proposalType: "remove", remove: { removed: req.index } });
  },

  async protect(req) {
    const c = member(req.client);
    const r = await createApplicationMessage(c.state, fromHex(req.data), c.impl, fromHex(req.aad ?? ""));
    c.state = r.newState;
    return { message: encodeMessage({ wireformat: "mls_private_message", privateMessage: r.privateMessage }) };
  },

  // process handles any handshake or application message.
  async process(req) {
    const c = member(req.client);
    const m = decodeMessage(req.message);
    if (m.wireformat !== "mls_public_message" && m.wireformat !== "mls_private_message") {
      throw new Error(`cannot process ${m.wireformat}`);
    }
    const before = c.state.groupContext.epoch;
    const r = await processMessage(m, c.state, emptyPskIndex, acceptAll, c.impl);
    c.state = r.newState;
    if (r.kind === "applicationMessage") {
      const aad = m.wireformat === "mls_private_message" ? m.privateMessage.authenticatedData : new Uint8Array();
      return { kind: "application", data: toHex(r.message), aad: toHex(aad), ...stateInfo(c) };
    }
    if (r.actionTaken !== "accept") throw new Error(`message ${r.actionTaken}ed`);
    const kind = c.state.groupContext.epoch !== before || c.state.groupActiveState.kind !== "active" ? "commit" : "proposal";
    return { kind, ...stateInfo(c) };
  },

  // unprotect is process restricted to application messages.
  async unprotect(req) {
    const r = await commands.process(req);
    if (r.kind !== "application") throw new Error(`expected an application message, got ${r.kind}`);
    return r;
  },

  async export(req) {
    const c = member(req.client);
    const secret = await mlsExporter(c.state.keySchedule.exporterSecret, req.label, fromHex(req.context), req.length, c.impl);
    return { secret: toHex(secret) };
  },

  async epoch_authenticator(req) {
    return stateInfo(member(req.client));
  },

  async ratchet_tree(req) {
    return { tree: toHex(encodeRatchetTree(member(req.client).state.ratchetTree)) };
  },

  async group_info(req) {
    const c = member(req.client);
    const gi = req.inline_tree
      ? await createGroupInfoWithExternalPubAndRatchetTree(c.state, [], c.impl)
      : await createGroupInfoWithExternalPub(c.state, [], c.impl);
    return { group_info: encodeMessage({ wireformat: "mls_group_info", groupInfo: gi }) };
  },

  async forget(req) {
    clients.delete(req.client);
    return {};
  },

  async version() {
    const { readFile } = await import("node:fs/promises");
    const pkg = JSON.parse(await readFile(new URL("./node_modules/ts-mls/package.json", import.meta.url), "utf8"));
    return { ts_mls: pkg.version, node: process.version };
  },
};

async function propose(c, proposal) {
  const r = await createProposal(c.state, c.publicHandshake, proposal, c.impl);
  c.state = r.newState;
  return { proposal: encodeMessage(r.message) };
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Requests are handled one at a time, in arrival order.
let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (line.trim() === "") return;
  queue = queue.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      reply({ id: null, ok: false, error: `bad json: ${e.message}` });
      return;
    }
    const fn = Object.hasOwn(commands, req.cmd) ? commands[req.cmd] : undefined;
    if (fn === undefined) {
      reply({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
      return;
    }
    try {
      reply({ id: req.id, ok: true, ...(await fn(req)) });
    } catch (e) {
      reply({ id: req.id, ok: false, error: `${e?.name ?? "Error"}: ${e?.message ?? String(e)}` });
    }
  });
});
rl.on("close", () => {
  queue.then(() => process.exit(0));
});
