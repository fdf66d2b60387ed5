// kb search: semantic + lexical search over the static index in search/ (docs/search-index.md).
// The scoring mirrors kb/search/query.py step for step, so `kb search` ranks as this does.
// Nothing is downloaded until the search box is first focused; then only the files a query needs.
(function (root) {
  "use strict";

  var STOP = {};
  ("a an and are as at be but by for from has have he i if in into is it its of on or so such that the their then " +
    "there these they this to was we were will with you your not no can do does how what when where which who why")
    .split(" ").forEach(function (w) { STOP[w] = true; });

  var RE_MN = /\p{Mn}/u, RE_ZS = /\p{Zs}/u, RE_C = /[\p{Cc}\p{Cf}]/u, RE_P = /\p{P}/u;

  function isPunct(ch) {
    var cp = ch.codePointAt(0);
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
    return RE_P.test(ch);
  }
  function isCjk(cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
      (cp >= 0x2A700 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  function basicTokens(text) {
    text = text.toLowerCase().normalize("NFD");
    var out = [], word = "";
    for (var ch of text) {
      if (RE_MN.test(ch)) continue;
      var cp = ch.codePointAt(0);
      if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || RE_ZS.test(ch)) {
        if (word) { out.push(word); word = ""; }
      } else if (RE_C.test(ch) || cp === 0 || cp === 0xFFFD) {
        continue;
      } else if (isPunct(ch) || isCjk(cp)) {
        if (word) { out.push(word); word = ""; }
        out.push(ch);
      } else {
        word += ch;
      }
    }
    if (word) out.push(word);
    return out;
  }

  // kb/search/tokenize.py terms and compounds, rule for rule
  var RE_SPLIT = /[ \t\n\r\p{Zs}]+/u, RE_COMPOUND = /^[^a-z0-9]*([a-z0-9]+(?:[-_.][a-z0-9]+)+)[^a-z0-9]*$/;
  function terms(text) {
    var words = basicTokens(text).filter(function (t) {
      return !(Array.from(t).length === 1 && isPunct(t)) && !STOP[t];
    });
    text.toLowerCase().split(RE_SPLIT).forEach(function (piece) {
      var m = /[-_.]/.test(piece) ? RE_COMPOUND.exec(piece) : null;
      if (m && m[1].length <= 64) words.push(m[1]);
    });
    return words;
  }

  function wordIds(ids, unk, word) {
    var chars = Array.from(word);
    if (chars.length > 100) return [unk];
    var out = [], start = 0;
    while (start < chars.length) {
      var end = chars.length, found = -1;
      while (start < end) {
        var piece = chars.slice(start, end).join("");
        if (start > 0) piece = "##" + piece;
        if (Object.prototype.hasOwnProperty.call(ids, piece)) { found = ids[piece]; break; }
        end--;
      }
      if (found < 0) return [unk];
      out.push(found);
      start = end;
    }
    return out;
  }

  function fnv1a(s) {
    var bytes = new TextEncoder().encode(s), h = 0x811C9DC5;
    for (var i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
    return h >>> 0;
  }

  function qround(x) { return Math.floor(x * 1e9 + 0.5); }

  function halfToFloat(h) {
    var s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 0x1F, f = h & 0x3FF;
    if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
    if (e === 31) return f ? NaN : s * Infinity;
    return s * Math.pow(2, e - 15) * (1 + f / 1024);
  }

  var TYPES = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array };

  // The binary container: "KBSI", u32 version, u32 header length, JSON header, 8-aligned sections.
  function unpack(buf, kind, where) {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength < 12) throw new Error(where + ": not a kb search index file");
    var dv = new DataView(buf);
    var magic = String.fromCharCode(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
    if (magic !== "KBSI") throw new Error(where + ": not a kb search index file (bad magic)");
    var version = dv.getUint32(4, true), hlen = dv.getUint32(8, true);
    if (version !== 1) throw new Error(where + ": index format version " + version + ", this page reads 1");
    if (12 + hlen > buf.byteLength) throw new Error(where + ": truncated header");
    var header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 12, hlen)));
    if (header.kind !== kind) throw new Error(where + ": expected a '" + kind + "' file");
    var arrays = {};
    header.sections.forEach(function (s) {
      var count = s.shape.reduce(function (a, b) { return a * b; }, 1);
      var start = 12 + hlen + s.offset;
      if (s.dtype === "f16") {
        if (start + 2 * count > buf.byteLength) throw new Error(where + ": section " + s.name + " is truncated");
        var raw = new Uint16Array(buf, start, count), f = new Float64Array(count);
        for (var i = 0; i < count; i++) f[i] = halfToFloat(raw[i]);
        arrays[s.name] = f;
      } else {
        var T = TYPES[s.dtype];
        if (!T || start + T.BYTES_PER_ELEMENT * count > buf.byteLength) throw new Error(where + ": section " + s.name + " is truncated");
        arrays[s.name] = new T(buf, start, count);
      }
      arrays[s.name].shape = s.shape;
    });
    return { header: header, arrays: arrays };
  }

  // the manifest entries a query reads, by index mode (kb/search/query.py MANIFEST_KEYS)
  var COMMON = ["bm25_shards", "meta_block", "candidates", "rrf_k", "chunks"], VECTOR = COMMON.concat(["dims", "rows_block", "vocab_shards"]);
  var MANIFEST_KEYS = { lexical: COMMON, int8: VECTOR.concat(["nprobe"]), pq: VECTOR.concat(["note_m", "rerank", "bytes_per_chunk"]) };

  // An index reads files through `load(rel) -> Promise<ArrayBuffer>` and caches them. A load that
  // fails is forgotten, so a later query fetches the file again (a dropped connection is not the
  // index's fault; an error marked `transient` says so to the search box).
  function Index(load) {
    this.load = load;
    this.cache = {};
    this.fetched = {};
  }
  // cache[key] = promise, dropped if it fails
  function remember(cache, key, make) {
    if (!cache[key]) {
      cache[key] = make();
      cache[key].catch(function () { delete cache[key]; });
    }
    return cache[key];
  }
  Index.prototype.bytes = function (rel) {
    var self = this;
    return remember(this.cache, rel, function () {
      return Promise.resolve(self.load(rel)).then(function (buf) {
        self.fetched[rel] = buf.byteLength;
        return buf;
      });
    });
  };
  Index.prototype.json = function (rel) {
    return this.bytes(rel).then(function (buf) {
      try { return JSON.parse(new TextDecoder().decode(buf)); } catch (e) { throw new Error(rel + ": unreadable: " + e.message); }
    });
  };
  Index.prototype.bin = function (rel, kind) {
    var self = this;
    return remember(this.cache, "bin:" + rel, function () {
      return self.bytes(rel).then(function (buf) { return unpack(buf, kind, rel); });
    });
  };
  Index.prototype.open = function () {
    var self = this;
    if (this.ready) return this.ready;
    var ready = this.ready = this.json("manifest.json").then(function (m) {
      if (!m || m.format !== "kb-search" || (m.version !== 2 && m.version !== 3)) throw new Error("manifest.json: not a version 2 or 3 kb search index");
      if (!Object.prototype.hasOwnProperty.call(MANIFEST_KEYS, m.mode)) throw new Error("manifest.json: unknown index mode " + JSON.stringify(m.mode));
      var lacking = MANIFEST_KEYS[m.mode].filter(function (k) { return !(k in m); });
      if (m.note_lists && !("note_probe" in m)) lacking.push("note_probe");
      if (lacking.length) throw new Error("manifest.json: incomplete, no " + lacking.join(", "));
      self.m = m;
      return self.bin("index.bin", "index");
    }).then(function (ix) {
      self.arrays = ix.arrays;
      var counts = self.arrays.note_chunks, total = 0, i;
      for (i = 0; i < counts.length; i++) total += counts[i];
      self.noteOf = new Int32Array(total);
      var c = 0;
      self.chunkStart = new Int32Array(counts.length);
      for (i = 0; i < counts.length; i++) {
        self.chunkStart[i] = c;
        for (var j = 0; j < counts[i]; j++) self.noteOf[c++] = i;
      }
      self.ids = Object.create(null);
      self.unk = self.m.unk !== undefined ? self.m.unk : 100;
      return self;
    });
    ready.catch(function () { if (self.ready === ready) self.ready = null; });
    return ready;
  };

  // Vocabulary shards: "1" (one-letter pieces) and, for each pair of adjacent letters of a word,
  // the shard of pieces starting with that pair (kb/search/index.py word_vocab_shards).
  Index.prototype.vocab = function (words) {
    var self = this, n = this.m.vocab_shards, need = { "1": true };
    words.forEach(function (w) {
      var cps = Array.from(w);
      for (var i = 0; i + 1 < cps.length; i++) need[String(fnv1a(cps[i] + cps[i + 1]) % n)] = true;
    });
    return Promise.all(Object.keys(need).sort().map(function (s) {
      var rel = "enc/vocab/" + s + ".txt";
      if (!self.vocabLoaded) self.vocabLoaded = {};
      return remember(self.vocabLoaded, rel, function () {
        return self.bytes(rel).then(function (buf) {
          new TextDecoder().decode(buf).split("\n").forEach(function (line) {
            var sp = line.indexOf(" ");
            if (sp > 0) self.ids[line.slice(sp + 1)] = parseInt(line.slice(0, sp), 10);
          });
        });
      });
    }));
  };

  // The word table (kb/search/index.py word_files): "word id id ..", one shard per query word.
  Index.prototype.words = function (words) {
    var self = this, n = this.m.word_shards || 0, need = {};
    if (!this.wordIds) { this.wordIds = Object.create(null); this.wordsLoaded = {}; }
    if (n) words.forEach(function (w) { need[String(fnv1a(w) % n)] = true; });
    return Promise.all(Object.keys(need).sort().map(function (s) {
      var rel = "enc/words/" + s + ".txt";
      return remember(self.wordsLoaded, rel, function () {
        return self.bytes(rel).then(function (buf) {
          new TextDecoder().decode(buf).split("\n").forEach(function (line) {
            var parts = line.split(" ");
            if (parts.length > 1) self.wordIds[parts[0]] = parts.slice(1).map(function (x) { return parseInt(x, 10); });
          });
        });
      });
    }));
  };

  // Words missing from the word table are tokenized from the vocabulary shards (same ids).
  Index.prototype.tokenIds = function (query) {
    var self = this, words = basicTokens(query);
    return this.words(words).then(function () {
      var missing = words.filter(function (w) { return !(w in self.wordIds); });
      return (missing.length ? self.vocab(missing) : Promise.resolve()).then(function () {
        var out = [];
        words.forEach(function (w) {
          out.push.apply(out, w in self.wordIds ? self.wordIds[w] : wordIds(self.ids, self.unk, w));
        });
        return out;
      });
    });
  };

  Index.prototype.encode = function (query) {
    var self = this;
    return this.tokenIds(query).then(function (ids) { return self.encodeIds(ids); });
  };

  Index.prototype.encodeIds = function (ids) {
    var self = this, block = this.m.rows_block, d = this.m.dims;
    if (!ids.length) return Promise.resolve(null);
    var shards = Array.from(new Set(ids.map(function (t) { return Math.floor(t / block); })));
    return Promise.all(shards.map(function (s) { return self.bin("enc/rows/" + s + ".bin", "rows"); })).then(function () {
      var q = new Float64Array(d);
      return Promise.all(ids.map(function (t) { return self.bin("enc/rows/" + Math.floor(t / block) + ".bin", "rows"); }))
        .then(function (rows) {
          rows.forEach(function (r, i) {
            var k = ids[i] % block, s = r.arrays.scale[k], row = r.arrays.rows;
            for (var x = 0; x < d; x++) q[x] += row[k * d + x] * s;
          });
          var n = 0;
          for (var x = 0; x < d; x++) n += q[x] * q[x];
          n = Math.sqrt(n);
          if (!(n > 0)) return null;
          for (x = 0; x < d; x++) q[x] /= n;
          return q;
        });
    });
  };

  Index.prototype.probe = function (q) {
    var c = this.arrays.centroids, cs = this.arrays.centroid_scale, d = this.m.dims, n = cs.length, scores = [];
    for (var i = 0; i < n; i++) {
      var s = 0;
      for (var x = 0; x < d; x++) s += c[i * d + x] * cs[i] * q[x];
      scores.push([qround(s), i]);
    }
    scores.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
    return scores.slice(0, this.m.nprobe).map(function (p) { return p[1]; });
  };

  function lookupTables(books, q, stages, M, dsub) {
    var t = new Float64Array(stages * M * 16);
    for (var st = 0; st < stages; st++) for (var j = 0; j < M; j++) for (var k = 0; k < 16; k++) {
      var base = ((st * M + j) * 16 + k) * dsub, s = 0;
      for (var e = 0; e < dsub; e++) s += books[base + e] * q[j * dsub + e];
      t[(st * M + j) * 16 + k] = s;
    }
    return t;
  }

  // Sum of table entries for one code: `stages` stages of M 4-bit codes (two per byte, low nibble first).
  function adc(tables, codes, off, stages, M) {
    var s = 0, half = M / 2;
    for (var st = 0; st < stages; st++) {
      var tb = st * M * 16, cb = off + st * half;
      for (var b = 0; b < half; b++) {
        var byte = codes[cb + b];
        s += tables[tb + (2 * b) * 16 + (byte & 15)];
        s += tables[tb + (2 * b + 1) * 16 + (byte >> 4)];
      }
    }
    return s;
  }

  Index.prototype.vectorScores = function (q) {
    var self = this, m = this.m, d = m.dims, out = new Map();
    if (m.mode === "int8") {
      var qs = new Float64Array(d);
      for (var x = 0; x < d; x++) qs[x] = q[x] * this.arrays.dim_scale[x];
      return Promise.all(this.probe(q).map(function (li) { return self.bin("lists/" + li + ".bin", "list"); }))
        .then(function (lists) {
          lists.forEach(function (l) {
            var ids = l.arrays.ids, codes = l.arrays.codes, bpc = codes.shape[1];
            for (var i = 0; i < ids.length; i++) {
              var s = 0, ci = new Int8Array(codes.buffer, codes.byteOffset + i * bpc, d);
              for (var x = 0; x < d; x++) s += ci[x] * qs[x];
              out.set(ids[i], qround(s));
            }
          });
          return out;
        });
    }
    var books = this.arrays.codebooks, stages = books.shape[0], M = books.shape[1];
    var dims = this.arrays.chunk_dims, qc = new Float64Array(d);
    for (var x = 0; x < d; x++) qc[x] = q[dims[x]];  // chunk codes cover the dimensions in this order
    var tables = lookupTables(books, qc, stages, M, books.shape[3]);
    // note codes: residual stages, each with its own sub-space count (manifest.note_m)
    var nstages = m.note_m.map(function (nm, st) {
      var nb = self.arrays["note_codebook_" + st];
      return { M: nm, tables: lookupTables(nb, q, 1, nm, nb.shape[2]) };
    });
    return this.noteScores(nstages).then(function (scored) {
      scored.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
      // the best notes, skipping one whose chunks would take the total above rerank_chunks (kb/search/query.py rerank_notes)
      var best = [], total = 0, cap = m.rerank_chunks || 0;
      for (var r = 0; r < scored.length && best.length < m.rerank; r++) {
        var cnt = self.arrays.note_chunks[scored[r][1]];
        if (cap && best.length && total + cnt > cap) continue;
        best.push(scored[r][1]);
        total += cnt;
      }
      return Promise.all(best.map(function (note) {
        return self.bytes("chunks/" + note + ".bin").then(function (buf) {
          var count = self.arrays.note_chunks[note], bpc = m.bytes_per_chunk;
          if (buf.byteLength !== count * bpc) throw new Error("chunks/" + note + ".bin: wrong size");
          var cc = new Uint8Array(buf), first = self.chunkStart[note];
          for (var j = 0; j < count; j++) out.set(first + j, qround(adc(tables, cc, j * bpc, stages, M)));
        });
      }));
    }).then(function () { return out; });
  };

  // [score, note id] of each code in a "notes" file (note codes, or list centroids coded the same way)
  function codeScores(file, nstages, ids) {
    var codes = file.arrays.codes, per = codes.shape[1], n = codes.shape[0], out = [];
    for (var i = 0; i < n; i++) {
      var s = 0, off = i * per;
      for (var st = 0; st < nstages.length; st++) {
        s += adc(nstages[st].tables, codes, off, 1, nstages[st].M);
        off += nstages[st].M / 2;
      }
      out.push([qround(s), ids ? ids[i] : i]);
    }
    return out;
  }

  // The notes a query scans, as [score, note id]: every note (notes.bin), or past NOTE_SCAN notes those of
  // the note_probe lists whose coded centroids score best (kb/search/query.py note_scores)
  Index.prototype.noteScores = function (nstages) {
    var self = this, m = this.m;
    if (!m.note_lists) return this.bin("notes.bin", "notes").then(function (f) { return codeScores(f, nstages); });
    return this.bin("note-lists.bin", "notes").then(function (lists) {
      var cs = codeScores(lists, nstages);
      cs.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
      var probe = cs.slice(0, m.note_probe).map(function (p) { return p[1]; }).sort(function (a, b) { return a - b; });
      return Promise.all(probe.map(function (li) { return self.bin("notes/" + li + ".bin", "notes"); }));
    }).then(function (files) {
      return [].concat.apply([], files.map(function (f) { return codeScores(f, nstages, f.arrays.ids); }));
    });
  };

  // BM25: chunk id -> score (the terms' integer weights summed), chunk id -> the summed termWeight of
  // the query's distinct terms its chunk contains, the sum over all of them, and the number of terms
  Index.prototype.bm25 = function (query) {
    var self = this, out = new Map(), matched = new Map(), n = this.m.bm25_shards, seen = {}, total = 0;
    var ts = terms(query).filter(function (t) { if (seen[t]) return false; seen[t] = true; return true; });
    return Promise.all(ts.map(function (t) { return self.json("bm25/" + (fnv1a(t) % n) + ".json"); })).then(function (shards) {
      shards.forEach(function (sh, i) {
        var post = Object.prototype.hasOwnProperty.call(sh, ts[i]) ? sh[ts[i]] : [], w = termWeight(self.m, post.length / 2);
        total += w;
        for (var p = 0; p < post.length; p += 2) {
          out.set(post[p], (out.get(post[p]) || 0) + post[p + 1]);
          matched.set(post[p], (matched.get(post[p]) || 0) + w);
        }
      });
      return { scores: out, matched: matched, total: total, terms: ts.length };
    });
  };

  // kb/search/query.py term_weight: a term's idf in thousandths ("idf"), else 1
  function termWeight(m, postings) {
    if (m.bm25_share !== "idf") return 1;
    return Math.floor(1000 * Math.log(1 + (m.chunks - postings + 0.5) / (postings + 0.5)) + 0.5);
  }

  Index.prototype.noteRanking = function (scores) {
    var best = new Map(), self = this;
    scores.forEach(function (s, cid) {
      var n = self.noteOf[cid], cur = best.get(n);
      if (!cur || s > cur[1] || (s === cur[1] && cid < cur[0])) best.set(n, [cid, s]);
    });
    var ranked = Array.from(best.entries());
    ranked.sort(function (a, b) { return (b[1][1] - a[1][1]) || (a[0] - b[0]); });
    return ranked.slice(0, this.m.candidates).map(function (e) { return [e[0], e[1][0], e[1][1]]; });
  };

  Index.prototype.search = function (query, k) {
    var self = this;
    k = k || 10;
    return this.open().then(function () {
      var vec = self.m.mode === "lexical" ? Promise.resolve(null)
        : self.fullModel ? self.fullModel.encode(query) : self.encode(query);  // fullModel: search-model.js
      return vec.then(function (q) {
        return Promise.all([q ? self.vectorScores(q) : null, self.bm25(query)]);
      });
    }).then(function (scores) {
      var fused = new Map(), chunkOf = new Map(), rk = self.m.rrf_k;
      // a result shows the chunk that gave its note the larger share; ties: BM25's chunk (kb/search/query.py)
      function add(ranking, weight, ties) {
        ranking.forEach(function (e, rank) {
          var share = weight(e[1]) / (rk + rank + 1), cur = chunkOf.get(e[0]), qs = qround(share);
          fused.set(e[0], (fused.get(e[0]) || 0) + share);
          if (cur === undefined || qs > cur[0] || (ties && qs === cur[0])) chunkOf.set(e[0], [qs, e[1]]);
        });
      }
      if (scores[0]) add(self.noteRanking(scores[0]), function () { return 1; }, false);
      // next to a vector ranking, a BM25 entry counts by the share of the query its chunk contains (by
      // termWeight), to the power bm25_coverage (a soft AND); alone, BM25's order stands
      var bm = scores[1], p = scores[0] && self.m.bm25_coverage ? self.m.bm25_coverage : 0;
      add(self.noteRanking(bm.scores), function (c) { return p ? Math.pow(bm.matched.get(c) / bm.total, p) : 1; }, true);
      var top = Array.from(fused.keys());
      top.sort(function (a, b) { return (qround(fused.get(b)) - qround(fused.get(a))) || (a - b); });
      top = top.slice(0, k);
      return Promise.all(top.map(function (n) { return self.result(chunkOf.get(n)[1], fused.get(n)); }))
        .then(function (res) { res.usesWords = bm.terms === 0 || bm.scores.size > 0; return res; });  // kb/search/query.py uses_words
    });
  };

  Index.prototype.result = function (cid, score) {
    var block = this.m.meta_block, build = this.m.build, rel = "meta/" + Math.floor(cid / block) + ".json";
    return this.json(rel).then(function (meta) {
      // the site was built again since manifest.json was read (kb/search/index.py build_id): the box's
      // redeployed() looks at manifest.json again
      if (meta.build !== build) throw new Error(rel + ": from another build than manifest.json");
      var c = meta.chunks[cid % block], note = meta.notes[String(c[0])];
      return { path: note[0], url: note[1], title: note[2], heading: c[1], anchor: c[2], snippet: c[3], score: score };
    });
  };

  var api = { Index: Index, basicTokens: basicTokens, terms: terms, fnv1a: fnv1a, unpack: unpack };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  root.kbSearch = api;

  // ---- the search box ----
  if (typeof document === "undefined") return;
  var input = document.getElementById("search-input");
  var list = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  if (!input || !list) return;
  var prefix = document.body.getAttribute("data-prefix") || "/";
  function loader(rel, init) {
    // a fetch that rejects (offline, connection dropped) or a server error may work next time;
    // a 404 is a file the site lacks
    function transient(msg) { var e = new Error(msg); e.transient = true; return e; }
    return fetch(prefix + "search/" + rel, init).then(function (r) {
      if (!r.ok) {
        var msg = "search/" + rel + ": HTTP " + r.status;
        throw r.status >= 500 || r.status === 408 || r.status === 429 ? transient(msg) : new Error(msg);
      }
      return r.arrayBuffer().catch(function (e) { throw transient("search/" + rel + ": " + e.message); });
    }, function (e) { throw transient("search/" + rel + ": " + e.message); });
  }
  // after a redeploy, files the browser kept from before must be checked with the server again
  function freshLoader(rel) { return loader(rel, { cache: "no-cache" }); }
  var index = new Index(loader);
  root.kbSearch.site = index;
  var active = -1, timer = null, seq = 0, broken = false, retry = false, open = false, enterPending = false;
  var box = input.closest(".search") || input.parentNode;
  var popup = document.getElementById("search-popup");
  var live = document.getElementById("search-live");

  // The popup (status line above the results) shows while the box is in use; it closes on
  // Escape, on a click elsewhere and when focus leaves the search box.
  function sync() {
    var showList = open && list.children.length > 0;
    list.hidden = !showList;
    if (popup) popup.hidden = !(showList || (open && status && status.textContent));
    input.setAttribute("aria-expanded", showList ? "true" : "false");
    if (!showList || active < 0) input.removeAttribute("aria-activedescendant");
  }
  function say(msg) {
    if (status) status.textContent = msg;
    if (live) live.textContent = msg;
    sync();
  }
  function show() { open = true; sync(); }
  function close() { open = false; setActive(-1); sync(); }
  function fail(err) {
    var msg = err && err.message ? err.message : err;
    list.textContent = "";
    list.removeAttribute("data-query");
    active = -1;
    enterPending = false;  // an Enter pressed before the failure opens nothing later on
    if (err && err.transient) {  // the next keystroke, Enter or the connection's return tries again
      retry = true;
      say("Search could not load (" + msg + "); it will try again as you type.");
      return;
    }
    broken = true;
    say("Search is unavailable: " + msg + ". Rebuild the site to fix the index.");
  }
  function options() { return list.querySelectorAll("[role=option]"); }
  function setActive(i) {
    var items = options();
    active = i < 0 || !items.length ? -1 : (i + items.length) % items.length;
    items.forEach(function (o, j) { o.setAttribute("aria-selected", j === active ? "true" : "false"); });
    if (active < 0) { input.removeAttribute("aria-activedescendant"); return; }
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].parentNode.scrollIntoView({ block: "nearest" });  // the row, snippet included
  }
  // Keys of the titles that results of more than one note share (case and spacing aside, as
  // kb/emit/pages.py title_key): those results show their note's path too, to tell them apart.
  function titleKey(title) { return title.trim().split(/\s+/).join(" ").toLowerCase(); }
  function sharedTitles(results) {
    var paths = new Map(), shared = new Set();  // a Map: a title may be "__proto__"
    results.forEach(function (r) {
      var k = titleKey(r.title);
      if (!paths.has(k)) paths.set(k, new Set());
      paths.get(k).add(r.path);
      if (paths.get(k).size > 1) shared.add(k);
    });
    return shared;
  }
  function render(results) {
    list.textContent = "";
    active = -1;
    var shared = sharedTitles(results);
    results.forEach(function (r, i) {
      // The link itself is the option (ARIA in HTML allows role=option on a[href]): a link inside an
      // option would be an interactive element nested in another (axe nested-interactive), and a
      // plain option would lose what a link gives: open in a new tab, copy link address.
      // The option holds only the title, the heading and, when another result has the same title, the
      // note's path, so its name (from its content) is short, tells it apart, and is all of its
      // visible text (WCAG 2.5.3, axe label-content-name-mismatch). The snippet sits next
      // to it as its description, hidden from the tree so it is not stray text in the listbox; the
      // link's ::after (style.css) stretches over the whole row, so a click on the snippet opens it too.
      var li = document.createElement("li");
      li.setAttribute("role", "presentation");  // keeps the list markup out of the listbox's tree
      var a = document.createElement("a"), id = "search-result-" + i;
      a.id = id;
      a.setAttribute("role", "option");
      a.setAttribute("aria-selected", "false");
      a.href = prefix + r.url + (r.anchor ? "#" + r.anchor : "");
      a.tabIndex = -1;  // options are reached with the arrow keys (combobox); Tab leaves the box
      var t = document.createElement("span");
      t.className = "r-title";
      t.textContent = r.title;
      a.appendChild(t);
      if (shared.has(titleKey(r.title))) {  // inside the option: its name tells it apart from the other too
        var w = document.createElement("span");
        a.appendChild(document.createTextNode(" "));  // the name reads "title path", not "titlepath"
        w.className = "r-path";
        w.textContent = r.path.replace(/\.md$/i, "");  // the vault path, as the site's lists show it
        a.appendChild(w);
      }
      if (r.heading) {
        var h = document.createElement("span");
        h.className = "r-heading";
        h.textContent = r.heading;
        a.appendChild(h);
      }
      li.appendChild(a);
      if (r.snippet) {
        var p = document.createElement("span");
        p.className = "r-snippet";
        p.id = id + "-snippet";
        p.setAttribute("aria-hidden", "true");  // aria-describedby still reads it (accname: referenced directly)
        p.textContent = r.snippet;
        li.appendChild(p);
        a.setAttribute("aria-describedby", p.id);
      }
      list.appendChild(li);
    });
    // no note contains any of the query's words (gibberish, or a word the vault never uses): the
    // results are only the nearest in meaning, and the reader should know that
    say(!results.length ? "No results" : results.usesWords === false
      ? "No note contains these words; " + results.length + " closest in meaning"
      : results.length + (results.length === 1 ? " result" : " results"));
  }
  function run(force) {
    var q = input.value.trim(), my = ++seq;
    if (broken) return;
    if (!q) { list.textContent = ""; list.removeAttribute("data-query"); active = -1; say(""); return; }
    // the same query's results already shown (the index finished loading after the typing): keep them
    // and the selection, and leave the popup as it is: the typing's own run (80 ms later) must not
    // reopen what Escape closed meanwhile; force: a new encoder (the full model) must rank them again
    if (!force && q === list.getAttribute("data-query") && list.children.length) { sync(); return; }
    retry = false;
    index.search(q, 10).then(function (res) {
      if (my !== seq) return;  // a newer query is on its way
      render(res);
      list.setAttribute("data-query", q);
      if (enterPending) { enterPending = false; go(0); }
    }, function (err) { if (my === seq) redeployed(err); });
  }
  // A file that does not fit the index this page read (missing, the wrong size, or another build's)
  // is most often a site deployed again while the page was open: if manifest.json has changed, start
  // over from the new index, once, revalidating what the browser cached; otherwise the index is broken.
  function redeployed(err) {
    if (err && err.transient || index.rechecked || !index.m) return fail(err);
    var was = index;
    was.rechecked = true;
    loader("manifest.json", { cache: "no-store" }).then(function (buf) { return JSON.parse(new TextDecoder().decode(buf)); })
      .then(function (m) {
        if (was !== index) return;  // kb serve swapped the index meanwhile
        if (m && m.build !== was.m.build) root.kbSearch.refresh(true);
        else fail(err);
      }, function () { if (was === index) fail(err); });
  }
  function go(i) {
    var pick = options()[i];
    if (pick) window.location.href = pick.href;
  }
  // [search] browser_model = "full": search-model.js loads the model; the static encoder answers meanwhile.
  function startModel() {
    if (!index.m.browser_model || index.modelScript) return;
    index.modelScript = true;
    var s = document.createElement("script");
    s.src = prefix + "static/search-model.js";
    s.onload = function () { root.kbSearchModel.start(index, prefix, say, function () { if (input.value.trim()) run(true); }); };
    s.onerror = function () { index.modelState = "failed"; say("The full search model could not be loaded; using the quick encoder."); };
    document.head.appendChild(s);
  }
  // the page says what the box searches by; the index knows (a model that failed to load under kb serve
  // leaves a lexical index behind a page rendered before): a placeholder of this theme's own follows it
  function placeholderFor(m) {
    var ours = ["Search by meaning…", "Search words…"];
    if (ours.indexOf(input.placeholder) >= 0) input.placeholder = ours[m.mode === "lexical" ? 1 : 0];
  }
  function opened(mine, then) {
    return mine.open().then(function () {
      if (mine !== index) return;  // kb serve swapped the index meanwhile: its own open() carries on
      placeholderFor(mine.m);
      then();
    }, function (err) { if (mine === index) fail(err); });
  }
  input.addEventListener("focus", function () {
    show();
    if (index.m) startModel();  // after a refresh while the box was not focused, the full model starts here
    if (index.ready || broken) return;
    say("Loading search…");
    opened(index, function () { if (!input.value.trim()) say(""); else run(); startModel(); });
  });
  window.addEventListener("online", function () { if (retry && input.value.trim()) run(); });
  // kb serve rewrote search/: forget every file read so far (the manifest and index.bin no longer
  // match the new shards) and search what the box says again
  root.kbSearch.refresh = function (fresh) {
    var hadModel = index.modelScript;  // the full model belongs to the old index: start it for the new one
    index = root.kbSearch.site = new Index(fresh ? freshLoader : loader);
    index.rechecked = !!fresh;  // a second mismatch right after a redeploy's restart is a broken index
    broken = retry = false;
    seq++;  // a search still running on the old files is dropped
    list.removeAttribute("data-query");
    var focused = document.activeElement === input;
    if (!focused && !input.value.trim() && !hadModel) return;  // the next focus loads the new index
    opened(index, function () {
      if (input.value.trim()) run(true);
      if (focused || hadModel) startModel();
    });
  };
  input.addEventListener("input", function () {
    open = true;
    enterPending = false;
    clearTimeout(timer);
    timer = setTimeout(run, 80);
  });
  input.addEventListener("keydown", function (ev) {
    var items = options();
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (!open) { show(); return; }  // a closed list opens first; nothing hidden gets selected
      setActive(active < 0 && ev.key === "ArrowUp" ? items.length - 1 : active + (ev.key === "ArrowDown" ? 1 : -1));
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      var q = input.value.trim();
      if (!q) return;
      // typed faster than the search: the list still shows an earlier query's results, so search
      // what the box says now and open its first result
      if (list.getAttribute("data-query") !== q) { enterPending = true; clearTimeout(timer); run(); return; }
      if (!open || list.hidden) { show(); return; }
      go(active >= 0 ? active : 0);
    } else if (ev.key === "Escape") {
      // first Escape closes the list, the second clears the box (the ARIA combobox pattern)
      if (open) { ev.preventDefault(); close(); } else { input.value = ""; list.textContent = ""; say(""); }
    }
  });
  input.addEventListener("click", show);  // reopen what Escape or a click elsewhere closed
  document.addEventListener("pointerdown", function (ev) { if (open && !box.contains(ev.target)) close(); });
  box.addEventListener("focusout", function (ev) { if (open && !(ev.relatedTarget && box.contains(ev.relatedTarget))) close(); });
})(typeof window !== "undefined" ? window : globalThis);
