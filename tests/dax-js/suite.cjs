'use strict';
// The end-to-end suite both official JavaScript DAX clients run against a daxd cluster
// (tests/e2e/test_dax_js.py starts daxd, makes the tables, role, user and cluster, and
// runs each *.test.* script with this environment):
//
//   DAX_URL                the cluster's ClusterDiscoveryEndpoint.URL, as DescribeClusters returns it
//   AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   the account root
//   DAX_READER_ACCESS_KEY_ID, DAX_READER_SECRET_ACCESS_KEY a user without dax:GetItem
//   DAXD_ENDPOINT          daxd's HTTP endpoint (DynamoDB API, to check what DAX wrote)
//   DAX_TABLE_PREFIX       prefix of this client's tables (Things, Simple, Nums, Bins)
//
// Each client script supplies an adapter:
//   name                        label
//   dax(creds, config)          a DAX client for {accessKeyId, secretAccessKey} (+ client config)
//   call(client, op, params)    a promise of the operation's result (op: 'getItem', ...)
//   close(client)
//   ddb(op, params)             the same operation through daxd's DynamoDB HTTP API
//   code(err), status(err)      the error's exception name and HTTP status
//   reasons(err)                TransactionCanceled reasons: [{Code, Message, Item}]

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

function env(name) {
  const v = process.env[name];
  if(!v) {
    throw new Error(`${name} is not set (run through tests/e2e/test_dax_js.py)`);
  }
  return v;
}

const URL = env('DAX_URL');
const REGION = env('AWS_REGION');
const ROOT = { accessKeyId: env('AWS_ACCESS_KEY_ID'), secretAccessKey: env('AWS_SECRET_ACCESS_KEY') };
const READER = { accessKeyId: env('DAX_READER_ACCESS_KEY_ID'), secretAccessKey: env('DAX_READER_SECRET_ACCESS_KEY') };
const PREFIX = process.env.DAX_TABLE_PREFIX || '';
const T = {
  things: PREFIX + 'Things', simple: PREFIX + 'Simple', nums: PREFIX + 'Nums', bins: PREFIX + 'Bins',
};

// ---- comparing values ----------------------------------------------------------------

/** A decimal string in one canonical form ("-123e-2"), so that numbers compare by value
 * whatever form a client renders them in ("1.5E+3", "1500", "1.5e+3"). Exact: no floats. */
function canonN(s) {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(s).trim());
  if(!m) {
    throw new Error(`not a number: ${s}`);
  }
  let digits = (m[2] || '') + (m[3] || '');
  let exp = parseInt(m[4] || '0', 10) - (m[3] || '').length;
  digits = digits.replace(/^0+/, '');
  if(digits === '') {
    return '0';
  }
  while(digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exp += 1;
  }
  return `${m[1] === '-' ? '-' : ''}${digits}e${exp}`;
}

function b64(b) {
  if(typeof b === 'string') {
    return Buffer.from(b).toString('base64');
  }
  return Buffer.from(b.buffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b).toString('base64');
}

/** An AttributeValue with numbers by value, binaries as base64, sets unordered. */
function normAV(v) {
  const [t] = Object.keys(v);
  const x = v[t];
  switch(t) {
    case 'N': return { N: canonN(x) };
    case 'B': return { B: b64(x) };
    case 'SS': return { SS: [...x].sort() };
    case 'NS': return { NS: [...x].map(canonN).sort() };
    case 'BS': return { BS: [...x].map(b64).sort() };
    case 'L': return { L: x.map(normAV) };
    case 'M': return { M: normItem(x) };
    default: return { [t]: x };
  }
}

/** An item (attribute name -> AttributeValue), normalised attribute by attribute. */
function normItem(item) {
  if(item === undefined || item === null) {
    return item;
  }
  const out = {};
  for(const k of Object.keys(item).sort()) {
    out[k] = normAV(item[k]);
  }
  return out;
}

const norm = normItem;

function normItems(items) {
  return items.map(normItem).sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(pred, timeoutMs = 5000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for(;;) {
    if(await pred()) {
      return;
    }
    if(Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await sleep(intervalMs);
  }
}

// ---- data ----------------------------------------------------------------------------

const BIG = '12345678901234567890123456789012345678';
const EVERY_TYPE = {
  pk: { S: 'types' }, sk: { N: '1' },
  s: { S: 'héllo wörld ✓ 𝄞' }, empty_s: { S: '' },
  n_int: { N: '42' }, n_neg: { N: '-17' }, n_dec: { N: '3.14159' }, n_tenth: { N: '0.1' },
  n_big: { N: BIG }, n_negbig: { N: '-99999999999999999999999999999999999999' },
  n_precise: { N: '1234567890123456789012345.6789012345678' }, n_unsafe: { N: '9007199254740993' },
  n_small: { N: '1E-130' }, n_small_lower: { N: '1e-130' }, n_exp: { N: '1.5E+3' }, n_huge: { N: '9.9E+125' },
  n_trailing: { N: '2.50' }, n_zero: { N: '0' },
  b: { B: Buffer.from([0, 1, 0xfe, 0xff]) }, t: { BOOL: true }, f: { BOOL: false }, nul: { NULL: true },
  l: { L: [{ S: 'a' }, { N: '1' }, { L: [{ BOOL: false }] }, { M: { k: { S: 'v' } } }, { NULL: true }, { B: Buffer.from('z') }] },
  m: { M: {
    name: { S: 'x' }, nested: { M: { deep: { N: '7' }, deeper: { M: { ns: { NS: ['1', '2'] } } } } },
    list: { L: [{ S: '0' }, { S: '1' }, { S: '2' }] }, empty_m: { M: {} }, empty_l: { L: [] },
  } },
  ss: { SS: ['a', 'b', 'c'] }, ns: { NS: ['1', '2.5', '-3', BIG, '0.001'] },
  bs: { BS: [Buffer.from('x'), Buffer.from([0, 0xff])] },
  'reserved words': { S: 'name with space' },
};

function defineSuite(adapter) {
  const { call, ddb } = adapter;
  let dax;
  const clients = [];

  function code(err) {
    return adapter.code(err);
  }

  async function rejects(promise, wantCode) {
    let err;
    try {
      await promise;
    } catch(e) {
      err = e;
    }
    assert.ok(err, `expected ${wantCode}, but the call succeeded`);
    assert.equal(code(err), wantCode, `expected ${wantCode}, got ${code(err)}: ${err && err.stack}`);
    return err;
  }

  describe(`${adapter.name} against ${URL}`, () => {
    before(() => {
      dax = adapter.dax(ROOT);
      clients.push(dax);
    });
    after(() => {
      for(const c of clients) {
        adapter.close(c);
      }
    });

    test('PutItem and GetItem round-trip every value type and number form', async() => {
      const key = { pk: EVERY_TYPE.pk, sk: EVERY_TYPE.sk };
      const put = await call(dax, 'putItem', { TableName: T.things, Item: EVERY_TYPE });
      assert.equal(put.Attributes, undefined);
      const got = await call(dax, 'getItem', { TableName: T.things, Key: key });
      assert.deepEqual(norm(got.Item), norm(EVERY_TYPE));
      // What DAX wrote is what DynamoDB holds, number for number.
      const direct = await ddb('getItem', { TableName: T.things, Key: key, ConsistentRead: true });
      assert.deepEqual(norm(direct.Item), norm(EVERY_TYPE));
      assert.equal(direct.Item.n_big.N, BIG);
      assert.equal(direct.Item.n_precise.N, '1234567890123456789012345.6789012345678');
      assert.equal(direct.Item.n_unsafe.N, '9007199254740993');
      // A second read is served from the item cache: the same item.
      const again = await call(dax, 'getItem', { TableName: T.things, Key: key });
      assert.deepEqual(norm(again.Item), norm(EVERY_TYPE));
      // Strongly consistent read, with consumed capacity.
      const cons = await call(dax, 'getItem', { TableName: T.things, Key: key, ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL' });
      assert.deepEqual(norm(cons.Item), norm(EVERY_TYPE));
      assert.equal(cons.ConsumedCapacity.TableName, T.things);
      // A missing item.
      const none = await call(dax, 'getItem', { TableName: T.things, Key: { pk: { S: 'types' }, sk: { N: '2' } } });
      assert.equal(none.Item, undefined);
    });

    test('ProjectionExpression with nested paths, list indexes and name placeholders', async() => {
      await call(dax, 'putItem', { TableName: T.things, Item: { ...EVERY_TYPE, sk: { N: '3' } } });
      const proj = await call(dax, 'getItem', {
        TableName: T.things, Key: { pk: { S: 'types' }, sk: { N: '3' } },
        ProjectionExpression: 's, m.nested.deep, m.#l[1], #r, l[3].k, n_big, missing',
        ExpressionAttributeNames: { '#l': 'list', '#r': 'reserved words' },
      });
      assert.deepEqual(norm(proj.Item), norm({
        s: EVERY_TYPE.s, n_big: EVERY_TYPE.n_big,
        m: { M: { nested: { M: { deep: { N: '7' } } }, list: { L: [{ S: '1' }] } } },
        'reserved words': { S: 'name with space' }, l: { L: [{ M: { k: { S: 'v' } } }] },
      }));
    });

    test('keys of every type: N hash keys in any form, B hash and range keys, decimal range keys', async() => {
      // A hash-only N key written as "2.50" is the item "2.5".
      await call(dax, 'putItem', { TableName: T.nums, Item: { n: { N: '2.50' }, v: { S: 'two and a half' } } });
      let got = await call(dax, 'getItem', { TableName: T.nums, Key: { n: { N: '2.5' } } });
      assert.equal(got.Item.v.S, 'two and a half');
      assert.equal(canonN(got.Item.n.N), canonN('2.5'));
      for(const n of [BIG, '-1E-130', '0.1', '9007199254740993', '-42', '0', '1e+100']) {
        await call(dax, 'putItem', { TableName: T.nums, Item: { n: { N: n }, v: { S: n } } });
        got = await call(dax, 'getItem', { TableName: T.nums, Key: { n: { N: n } } });
        assert.equal(got.Item.v.S, n, `key ${n}`);
        const direct = await ddb('getItem', { TableName: T.nums, Key: { n: { N: n } }, ConsistentRead: true });
        assert.equal(direct.Item.v.S, n, `key ${n} in DynamoDB`);
      }
      // Binary keys, hash and range, including bytes that are not UTF-8.
      const h = Buffer.from([0xff, 0x00, 0x80]);
      for(const r of [Buffer.from([0x01]), Buffer.from([0x01, 0x02]), Buffer.from([0xfe, 0xff])]) {
        await call(dax, 'putItem', { TableName: T.bins, Item: { h: { B: h }, r: { B: r }, v: { B: r } } });
      }
      got = await call(dax, 'getItem', { TableName: T.bins, Key: { h: { B: h }, r: { B: Buffer.from([0x01, 0x02]) } } });
      assert.equal(b64(got.Item.v.B), b64(Buffer.from([0x01, 0x02])));
      assert.equal(b64(got.Item.h.B), b64(h));
      const q = await call(dax, 'query', { TableName: T.bins, KeyConditionExpression: 'h = :h AND r > :r',
        ExpressionAttributeValues: { ':h': { B: h }, ':r': { B: Buffer.from([0x01]) } } });
      assert.deepEqual(q.Items.map((i) => b64(i.r.B)), [b64(Buffer.from([0x01, 0x02])), b64(Buffer.from([0xfe, 0xff]))]);
      // Decimal range keys: order is numeric, and "2.50" and "2.5" are one key.
      for(const sk of ['-1.5', '2.50', '10', '0.001', '-100', BIG]) {
        await call(dax, 'putItem', { TableName: T.things, Item: { pk: { S: 'dec' }, sk: { N: sk }, v: { S: sk } } });
      }
      got = await call(dax, 'getItem', { TableName: T.things, Key: { pk: { S: 'dec' }, sk: { N: '2.5' } } });
      assert.equal(got.Item.v.S, '2.50');
      const all = await call(dax, 'query', { TableName: T.things, KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'dec' } } });
      assert.deepEqual(all.Items.map((i) => i.v.S), ['-100', '-1.5', '0.001', '2.50', '10', BIG]);
      const range = await call(dax, 'query', { TableName: T.things,
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':p': { S: 'dec' }, ':lo': { N: '-1.5' }, ':hi': { N: '2.5' } } });
      assert.deepEqual(range.Items.map((i) => i.v.S), ['-1.5', '0.001', '2.50']);
    });

    test('UpdateItem: every action, ReturnValues, and conditions', async() => {
      const key = { id: { S: 'rv' } };
      await call(dax, 'putItem', { TableName: T.simple, Item: { ...key, a: { N: '1' }, b: { S: 'x' }, ss: { SS: ['p', 'q'] } } });
      const old = await call(dax, 'putItem', { TableName: T.simple,
        Item: { ...key, a: { N: '2' }, b: { S: 'y' }, ss: { SS: ['p', 'q'] }, l: { L: [{ N: '1' }] } },
        ReturnValues: 'ALL_OLD' });
      assert.deepEqual(norm(old.Attributes), norm({ ...key, a: { N: '1' }, b: { S: 'x' }, ss: { SS: ['p', 'q'] } }));
      // NONE answers nothing, even though the node asks DynamoDB for the new image.
      const none = await call(dax, 'updateItem', { TableName: T.simple, Key: key,
        UpdateExpression: 'SET a = a + :one, c = if_not_exists(c, :zero), m = :m, l = list_append(l, :more) ' +
          'REMOVE b ADD cnt :one, ns :ns DELETE ss :p',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':zero': { N: '0' }, ':p': { SS: ['p'] },
          ':m': { M: { x: { L: [{ S: '0' }, { S: '1' }] } } }, ':more': { L: [{ N: '2' }, { N: '3' }] },
          ':ns': { NS: ['5', '6'] } },
        ReturnValues: 'NONE' });
      assert.equal(none.Attributes, undefined);
      const cur = await call(dax, 'getItem', { TableName: T.simple, Key: key });
      assert.deepEqual(norm(cur.Item), norm({ ...key, a: { N: '3' }, c: { N: '0' }, cnt: { N: '1' }, ss: { SS: ['q'] },
        m: { M: { x: { L: [{ S: '0' }, { S: '1' }] } } }, l: { L: [{ N: '1' }, { N: '2' }, { N: '3' }] },
        ns: { NS: ['5', '6'] } }));
      // The same updates on a twin item made through DynamoDB: DAX answers each ReturnValues
      // exactly as DynamoDB does.
      const twin = { id: { S: 'rv-twin' } };
      await ddb('putItem', { TableName: T.simple, Item: { ...cur.Item, ...twin } });
      const both = async(params, want, compare = true) => {
        const viaDax = await call(dax, 'updateItem', { TableName: T.simple, Key: key, ...params });
        const direct = await ddb('updateItem', { TableName: T.simple, Key: twin, ...params });
        const strip = (a) => { const { id, ...rest } = a || {}; return norm(rest); };
        if(compare) {
          assert.deepEqual(strip(viaDax.Attributes), strip(direct.Attributes),
            `${params.ReturnValues} ${params.UpdateExpression}: DAX ${JSON.stringify(strip(viaDax.Attributes))}, ` +
            `DynamoDB ${JSON.stringify(strip(direct.Attributes))}`);
        }
        if(want) {
          assert.deepEqual(strip(viaDax.Attributes), norm(want));
        }
        return viaDax;
      };
      // UPDATED_NEW of a list element: the whole top-level attribute, as the reference (the
      // engine's own server, and so daxd's DynamoDB API) answers a target through a list index.
      await both({ UpdateExpression: 'SET a = a - :one, m.x[1] = :v, m.y = :v',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':v': { S: 'new' } }, ReturnValues: 'UPDATED_NEW' },
      { a: { N: '2' }, m: { M: { x: { L: [{ S: '0' }, { S: 'new' }] }, y: { S: 'new' } } } });
      // A nested target without a list index: only its fragment.
      await both({ UpdateExpression: 'SET m.y = :v', ExpressionAttributeValues: { ':v': { S: 'newer' } },
        ReturnValues: 'UPDATED_NEW' }, { m: { M: { y: { S: 'newer' } } } });
      // REMOVE of a list element: the list's top-level attribute as it is after the update.
      await both({ UpdateExpression: 'REMOVE m.x[0]', ReturnValues: 'UPDATED_NEW' },
        { m: { M: { x: { L: [{ S: 'new' }] }, y: { S: 'newer' } } } });
      await both({ UpdateExpression: 'REMOVE c SET ns = :ns', ExpressionAttributeValues: { ':ns': { NS: ['5', '6'] } },
        ReturnValues: 'UPDATED_NEW' });
      await both({ UpdateExpression: 'REMOVE l[0] ADD cnt :one', ExpressionAttributeValues: { ':one': { N: '1' } },
        ReturnValues: 'UPDATED_OLD' });
      await both({ UpdateExpression: 'SET a = :v', ExpressionAttributeValues: { ':v': { N: '10.5' } },
        ReturnValues: 'UPDATED_OLD' }, { a: { N: '2' } });
      let out = await both({ UpdateExpression: 'SET a = :v', ExpressionAttributeValues: { ':v': { N: '11' } },
        ReturnValues: 'ALL_NEW' });
      assert.equal(out.Attributes.a.N, '11');
      assert.equal(out.Attributes.id.S, 'rv');
      assert.deepEqual(normAV(out.Attributes.ns), normAV({ NS: ['5', '6'] }));
      out = await both({ UpdateExpression: 'SET a = :v', ExpressionAttributeValues: { ':v': { N: '12' } },
        ReturnValues: 'ALL_OLD' });
      assert.equal(out.Attributes.a.N, '11');
      // After an ALL_OLD update the next read is the new image.
      assert.equal((await call(dax, 'getItem', { TableName: T.simple, Key: key })).Item.a.N, '12');
      // The update is in DynamoDB.
      const direct = await ddb('getItem', { TableName: T.simple, Key: key, ConsistentRead: true });
      assert.equal(direct.Item.a.N, '12');
      // Conditions that hold.
      await call(dax, 'updateItem', { TableName: T.simple, Key: key, UpdateExpression: 'SET a = :v',
        ConditionExpression: 'a IN (:x, :y) AND NOT contains(ss, :z) AND attribute_type(m, :mt) AND size(l) = :n',
        ExpressionAttributeValues: { ':v': { N: '13' }, ':x': { N: '12' }, ':y': { N: '0' }, ':z': { S: 'zz' },
          ':mt': { S: 'M' }, ':n': { N: '2' } } });
      // ...and ones that do not.
      let err = await rejects(call(dax, 'putItem', { TableName: T.simple, Item: { ...key },
        ConditionExpression: 'attribute_not_exists(id)' }), 'ConditionalCheckFailedException');
      assert.equal(adapter.status(err), 400);
      err = await rejects(call(dax, 'updateItem', { TableName: T.simple, Key: key, UpdateExpression: 'SET a = :v',
        ConditionExpression: 'a BETWEEN :lo AND :hi AND begins_with(#n, :p) OR size(c) > :big',
        ExpressionAttributeNames: { '#n': 'id' },
        ExpressionAttributeValues: { ':v': { N: '0' }, ':lo': { N: '100' }, ':hi': { N: '200' }, ':p': { S: 'r' },
          ':big': { N: '99' } } }), 'ConditionalCheckFailedException');
      await rejects(call(dax, 'deleteItem', { TableName: T.simple, Key: key, ConditionExpression: 'a < :v',
        ExpressionAttributeValues: { ':v': { N: '0' } } }), 'ConditionalCheckFailedException');
      // The failed writes changed nothing, in the cache or in DynamoDB.
      assert.equal((await call(dax, 'getItem', { TableName: T.simple, Key: key })).Item.a.N, '13');
      // DeleteItem with ALL_OLD, and the item is gone.
      const del = await call(dax, 'deleteItem', { TableName: T.simple, Key: key, ReturnValues: 'ALL_OLD',
        ConditionExpression: 'attribute_exists(id)' });
      assert.equal(del.Attributes.a.N, '13');
      assert.equal((await call(dax, 'getItem', { TableName: T.simple, Key: key })).Item, undefined);
      assert.equal((await ddb('getItem', { TableName: T.simple, Key: key, ConsistentRead: true })).Item, undefined);
      // Deleting what is not there succeeds and returns nothing.
      const gone = await call(dax, 'deleteItem', { TableName: T.simple, Key: key, ReturnValues: 'ALL_OLD' });
      assert.equal(gone.Attributes, undefined);
      // Validation errors come back as DynamoDB's.
      await rejects(call(dax, 'updateItem', { TableName: T.simple, Key: key, UpdateExpression: 'SET a = a + :s',
        ExpressionAttributeValues: { ':s': { S: 'x' } } }), 'ValidationException');
    });

    async function loadThings(n = 12) {
      const items = [];
      for(let i = 0; i < n; i++) {
        items.push({ pk: { S: 'q' }, sk: { N: String(i) }, cat: { S: i % 2 === 0 ? 'even' : 'odd' },
          v: { N: String(i * 10) }, tag: { S: `t${i % 3}` }, pad: { S: 'x'.repeat(100) } });
      }
      for(const chunk of [items.slice(0, 6), items.slice(6)]) {
        const out = await call(dax, 'batchWriteItem', {
          RequestItems: { [T.things]: chunk.map((Item) => ({ PutRequest: { Item } })) } });
        assert.deepEqual(out.UnprocessedItems || {}, {});
      }
      return items;
    }

    test('Query: key conditions, order, pagination, filters, projections, COUNT, an index', async() => {
      const items = await loadThings();
      const q = { TableName: T.things, KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':p': { S: 'q' }, ':a': { N: '2' }, ':b': { N: '9' } } };
      const out = await call(dax, 'query', q);
      assert.equal(out.Count, 8);
      assert.equal(out.ScannedCount, 8);
      assert.deepEqual(out.Items.map((i) => i.sk.N), ['2', '3', '4', '5', '6', '7', '8', '9']);
      assert.deepEqual(normItems(out.Items), normItems((await ddb('query', q)).Items));
      const desc = await call(dax, 'query', { ...q, ScanIndexForward: false, Limit: 3 });
      assert.deepEqual(desc.Items.map((i) => i.sk.N), ['9', '8', '7']);
      assert.ok(desc.LastEvaluatedKey);
      // Page by page, each page the same as DynamoDB's.
      const pages = [];
      let start;
      do {
        const kw = start ? { ExclusiveStartKey: start } : {};
        const page = await call(dax, 'query', { ...q, Limit: 3, ...kw });
        const direct = await ddb('query', { ...q, Limit: 3, ...kw });
        assert.deepEqual(normItems(page.Items), normItems(direct.Items));
        assert.deepEqual(norm(page.LastEvaluatedKey), norm(direct.LastEvaluatedKey));
        pages.push(page.Items.map((i) => i.sk.N));
        start = page.LastEvaluatedKey;
      } while(start);
      assert.deepEqual(pages.flat(), ['2', '3', '4', '5', '6', '7', '8', '9']);
      assert.ok(pages.length >= 3);
      // Other key conditions.
      const bw = await call(dax, 'query', { TableName: T.things, KeyConditionExpression: '#p = :p AND sk >= :s',
        ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':p': { S: 'q' }, ':s': { N: '10' } } });
      assert.deepEqual(bw.Items.map((i) => i.sk.N), ['10', '11']);
      // Filter and projection.
      const f = await call(dax, 'query', { ...q,
        ExpressionAttributeValues: { ...q.ExpressionAttributeValues, ':t': { S: 't1' } },
        FilterExpression: 'tag = :t', ProjectionExpression: 'sk, #v', ExpressionAttributeNames: { '#v': 'v' } });
      assert.deepEqual(f.Items.map(normItem), [{ sk: { N: '4e0' }, v: { N: '4e1' } }, { sk: { N: '7e0' }, v: { N: '7e1' } }]);
      assert.equal(f.ScannedCount, 8);
      assert.equal(f.Count, 2);
      const c = await call(dax, 'query', { ...q, Select: 'COUNT' });
      assert.equal(c.Count, 8);
      assert.equal(c.Items, undefined);
      // Consistent query with consumed capacity.
      const cq = await call(dax, 'query', { ...q, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' });
      assert.equal(cq.Count, 8);
      assert.equal(cq.ConsumedCapacity.TableName, T.things);
      // A global secondary index, paginated (compound LastEvaluatedKey).
      const gi = { TableName: T.things, IndexName: 'byCat', KeyConditionExpression: 'cat = :c',
        ExpressionAttributeValues: { ':c': { S: 'odd' } } };
      const got = [];
      start = undefined;
      let n = 0;
      do {
        const page = await call(dax, 'query', { ...gi, Limit: 2, ...(start ? { ExclusiveStartKey: start } : {}) });
        got.push(...page.Items);
        start = page.LastEvaluatedKey;
        if(start) {
          assert.deepEqual(Object.keys(start).sort(), ['cat', 'pk', 'sk']);
        }
        n++;
      } while(start);
      assert.ok(n >= 3);
      assert.deepEqual(got.map((i) => i.sk.N), ['1', '3', '5', '7', '9', '11']);
      assert.deepEqual(normItems(got), normItems(items.filter((i) => i.cat.S === 'odd')));
      const gdesc = await call(dax, 'query', { ...gi, ScanIndexForward: false, Limit: 2,
        KeyConditionExpression: 'cat = :c AND sk < :s', ExpressionAttributeValues: { ':c': { S: 'even' }, ':s': { N: '7' } } });
      assert.deepEqual(gdesc.Items.map((i) => i.sk.N), ['6', '4']);
      const gproj = await call(dax, 'query', { ...gi, Select: 'ALL_PROJECTED_ATTRIBUTES', Limit: 1 });
      assert.deepEqual(normItems(gproj.Items), normItems(items.filter((i) => i.sk.N === '1')));
      const gspec = await call(dax, 'query', { ...gi, Select: 'SPECIFIC_ATTRIBUTES', ProjectionExpression: 'sk, tag',
        FilterExpression: 'v >= :v', ExpressionAttributeValues: { ...gi.ExpressionAttributeValues, ':v': { N: '50' } } });
      assert.deepEqual(gspec.Items.map(normItem), [5, 7, 9, 11].map((i) => normItem({ sk: { N: String(i) }, tag: { S: `t${i % 3}` } })));
      assert.equal(gspec.ScannedCount, 6);
      // Limit counts items read, before the filter.
      const lf = await call(dax, 'query', { ...q, Limit: 4, FilterExpression: 'tag = :t',
        ExpressionAttributeValues: { ...q.ExpressionAttributeValues, ':t': { S: 't0' } } });
      assert.deepEqual(lf.Items.map((i) => i.sk.N), ['3']);
      assert.equal(lf.ScannedCount, 4);
      assert.deepEqual(norm(lf.LastEvaluatedKey), norm({ pk: { S: 'q' }, sk: { N: '5' } }));
    });

    test('Scan: filters, pagination, segments, an index', async() => {
      await loadThings();
      const s = await call(dax, 'scan', { TableName: T.things,
        FilterExpression: 'pk = :q AND tag IN (:a, :b) AND attribute_exists(cat)',
        ExpressionAttributeValues: { ':q': { S: 'q' }, ':a': { S: 't0' }, ':b': { S: 't2' } } });
      assert.equal(s.Count, 8);
      const everything = (await ddb('scan', { TableName: T.things, ConsistentRead: true })).Items;
      const segs = [];
      for(let i = 0; i < 2; i++) {
        segs.push(...(await call(dax, 'scan', { TableName: T.things, Segment: i, TotalSegments: 2, ConsistentRead: true })).Items);
      }
      assert.deepEqual(normItems(segs), normItems(everything));
      const paged = [];
      let start;
      let pages = 0;
      do {
        const page = await call(dax, 'scan', { TableName: T.things, Limit: 5, ...(start ? { ExclusiveStartKey: start } : {}) });
        paged.push(...page.Items);
        start = page.LastEvaluatedKey;
        pages++;
      } while(start);
      assert.ok(pages >= 3);
      assert.deepEqual(normItems(paged), normItems(everything));
      // An index scan, paginated, and counted.
      const idx = [];
      start = undefined;
      do {
        const page = await call(dax, 'scan', { TableName: T.things, IndexName: 'byCat', Limit: 5,
          ...(start ? { ExclusiveStartKey: start } : {}) });
        idx.push(...page.Items);
        start = page.LastEvaluatedKey;
        if(start) {
          assert.ok('cat' in start && 'pk' in start && 'sk' in start);
        }
      } while(start);
      assert.deepEqual(normItems(idx), normItems(everything.filter((i) => i.cat)));
      const count = await call(dax, 'scan', { TableName: T.things, IndexName: 'byCat', Select: 'COUNT' });
      assert.equal(count.Count, everything.filter((i) => i.cat).length);
      const proj = await call(dax, 'scan', { TableName: T.things, ProjectionExpression: 'sk',
        FilterExpression: 'v > :v', ExpressionAttributeValues: { ':v': { N: '95' } } });
      assert.deepEqual(proj.Items.map((i) => i.sk.N).sort(), ['10', '11']);
    });

    test('BatchGetItem and BatchWriteItem over several tables', async() => {
      await loadThings();
      const keys = [1, 2, 3].map((i) => ({ pk: { S: 'q' }, sk: { N: String(i) } }));
      const out = await call(dax, 'batchGetItem', { RequestItems: {
        [T.things]: { Keys: [...keys, { pk: { S: 'none' }, sk: { N: '0' } }] },
        [T.simple]: { Keys: [{ id: { S: 'absent' } }] },
      } });
      assert.deepEqual(out.Responses[T.things].map((i) => i.sk.N).sort(), ['1', '2', '3']);
      assert.deepEqual(out.Responses[T.simple] || [], []);
      assert.deepEqual(out.UnprocessedKeys || {}, {});
      const proj = await call(dax, 'batchGetItem', { RequestItems: {
        [T.things]: { Keys: keys.slice(0, 2), ProjectionExpression: '#v, tag', ExpressionAttributeNames: { '#v': 'v' },
          ConsistentRead: true } } });
      assert.deepEqual(proj.Responses[T.things].map(normItem).sort((a, b) => a.v.N < b.v.N ? -1 : 1),
        [{ v: { N: '1e1' }, tag: { S: 't1' } }, { v: { N: '2e1' }, tag: { S: 't2' } }]);
      const bw = await call(dax, 'batchWriteItem', { RequestItems: {
        [T.things]: [{ DeleteRequest: { Key: keys[0] } },
          { PutRequest: { Item: { pk: { S: 'bw' }, sk: { N: '1' }, x: { BS: [Buffer.from('1')] }, n: { NS: ['1.5'] } } } }],
        [T.simple]: [{ PutRequest: { Item: { id: { S: 'bw' }, m: { M: { a: { L: [{ NULL: true }] } } } } } }],
      } });
      assert.deepEqual(bw.UnprocessedItems || {}, {});
      assert.equal((await call(dax, 'getItem', { TableName: T.things, Key: keys[0] })).Item, undefined);
      const again = await call(dax, 'batchGetItem', { RequestItems: {
        [T.things]: { Keys: [{ pk: { S: 'bw' }, sk: { N: '1' } }, keys[0]] },
        [T.simple]: { Keys: [{ id: { S: 'bw' } }] } } });
      assert.deepEqual(normItems(again.Responses[T.things]),
        normItems([{ pk: { S: 'bw' }, sk: { N: '1' }, x: { BS: [Buffer.from('1')] }, n: { NS: ['1.5'] } }]));
      assert.deepEqual(normItems(again.Responses[T.simple]), normItems([{ id: { S: 'bw' }, m: { M: { a: { L: [{ NULL: true }] } } } }]));
      const direct = await ddb('getItem', { TableName: T.simple, Key: { id: { S: 'bw' } }, ConsistentRead: true });
      assert.deepEqual(norm(direct.Item), norm({ id: { S: 'bw' }, m: { M: { a: { L: [{ NULL: true }] } } } }));
    });

    test('TransactWriteItems and TransactGetItems', async() => {
      await loadThings();
      const keys = [1, 2, 3].map((i) => ({ pk: { S: 'q' }, sk: { N: String(i) } }));
      await call(dax, 'transactWriteItems', { TransactItems: [
        { Put: { TableName: T.simple, Item: { id: { S: 'tx1' }, n: { N: '1' }, b: { B: Buffer.from([9]) } },
          ConditionExpression: 'attribute_not_exists(id)' } },
        { Update: { TableName: T.things, Key: keys[1], UpdateExpression: 'SET v = v + :d',
          ExpressionAttributeValues: { ':d': { N: '5' } } } },
        { Delete: { TableName: T.things, Key: keys[2] } },
        { ConditionCheck: { TableName: T.things, Key: { pk: { S: 'q' }, sk: { N: '4' } },
          ConditionExpression: 'attribute_exists(pk)' } },
      ], ClientRequestToken: `tok-${PREFIX}${Date.now()}` });
      const got = (await call(dax, 'transactGetItems', { TransactItems: [
        { Get: { TableName: T.simple, Key: { id: { S: 'tx1' } } } },
        { Get: { TableName: T.things, Key: keys[1], ProjectionExpression: '#v', ExpressionAttributeNames: { '#v': 'v' } } },
        { Get: { TableName: T.things, Key: keys[2] } },
      ] })).Responses;
      assert.equal(got.length, 3);
      assert.deepEqual(norm(got[0].Item), norm({ id: { S: 'tx1' }, n: { N: '1' }, b: { B: Buffer.from([9]) } }));
      assert.deepEqual(norm(got[1].Item), norm({ v: { N: '25' } }));
      assert.ok(!got[2] || got[2].Item === undefined);
      // The item cache catches up with what the transaction wrote.
      await waitFor(async() => (await call(dax, 'getItem', { TableName: T.things, Key: keys[1] })).Item.v.N === '25');
      await waitFor(async() => (await call(dax, 'getItem', { TableName: T.things, Key: keys[2] })).Item === undefined);
      // A transaction without a token from the caller (the client makes one).
      await call(dax, 'transactWriteItems', { TransactItems: [
        { Put: { TableName: T.simple, Item: { id: { S: 'tx3' } } } }] });
      assert.ok((await ddb('getItem', { TableName: T.simple, Key: { id: { S: 'tx3' } }, ConsistentRead: true })).Item);
    });

    test('TransactionCanceledException carries the reasons in request order', async() => {
      await call(dax, 'putItem', { TableName: T.simple, Item: { id: { S: 'tx-old' }, n: { N: '1' }, s: { S: 'old' } } });
      const err = await rejects(call(dax, 'transactWriteItems', { TransactItems: [
        { Put: { TableName: T.simple, Item: { id: { S: 'tx2' } } } },
        { ConditionCheck: { TableName: T.simple, Key: { id: { S: 'tx-old' } }, ConditionExpression: 'n = :two',
          ExpressionAttributeValues: { ':two': { N: '2' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
        { Update: { TableName: T.simple, Key: { id: { S: 'tx-other' } }, UpdateExpression: 'SET a = :a',
          ExpressionAttributeValues: { ':a': { N: '1' } } } },
      ] }), 'TransactionCanceledException');
      assert.equal(adapter.status(err), 400);
      const reasons = adapter.reasons(err);
      assert.equal(reasons.length, 3, JSON.stringify(reasons));
      assert.equal(reasons[0].Code, 'None');
      assert.equal(reasons[1].Code, 'ConditionalCheckFailed');
      assert.match(reasons[1].Message, /conditional request failed/i);
      // ALL_OLD: the item as it was (the client adds the key).
      assert.deepEqual(norm(reasons[1].Item), norm({ id: { S: 'tx-old' }, n: { N: '1' }, s: { S: 'old' } }));
      assert.equal(reasons[2].Code, 'None');
      // Nothing was written.
      assert.equal((await call(dax, 'getItem', { TableName: T.simple, Key: { id: { S: 'tx2' } } })).Item, undefined);
      assert.equal((await ddb('getItem', { TableName: T.simple, Key: { id: { S: 'tx-other' } }, ConsistentRead: true })).Item,
        undefined);
      // A TransactGetItems on a missing table fails as a whole.
      await rejects(call(dax, 'transactGetItems', { TransactItems: [
        { Get: { TableName: T.simple, Key: { id: { S: 'tx-old' } } } },
        { Get: { TableName: PREFIX + 'Nope', Key: { id: { S: 'x' } } } }] }), 'ResourceNotFoundException');
    });

    test('ReturnConsumedCapacity and ReturnItemCollectionMetrics on every operation', async() => {
      const key = { id: { S: 'cc' } };
      const tc = (cc, what) => {
        assert.ok(cc, `${what}: no ConsumedCapacity`);
        assert.equal(cc.TableName, T.simple, what);
        assert.equal(typeof cc.CapacityUnits, 'number', what);
      };
      let out = await call(dax, 'putItem', { TableName: T.simple, Item: { ...key, v: { N: '1' } },
        ReturnConsumedCapacity: 'TOTAL', ReturnItemCollectionMetrics: 'SIZE' });
      tc(out.ConsumedCapacity, 'putItem');
      out = await call(dax, 'updateItem', { TableName: T.simple, Key: key, UpdateExpression: 'SET v = v + :one',
        ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnConsumedCapacity: 'INDEXES', ReturnValues: 'ALL_NEW' });
      tc(out.ConsumedCapacity, 'updateItem');
      assert.equal(out.Attributes.v.N, '2');
      out = await call(dax, 'getItem', { TableName: T.simple, Key: key, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' });
      tc(out.ConsumedCapacity, 'getItem');
      out = await call(dax, 'query', { TableName: T.simple, KeyConditionExpression: 'id = :v',
        ExpressionAttributeValues: { ':v': key.id }, ReturnConsumedCapacity: 'TOTAL', ConsistentRead: true });
      tc(out.ConsumedCapacity, 'query');
      out = await call(dax, 'scan', { TableName: T.simple, ReturnConsumedCapacity: 'TOTAL', ConsistentRead: true, Limit: 2 });
      tc(out.ConsumedCapacity, 'scan');
      out = await call(dax, 'batchGetItem', { RequestItems: { [T.simple]: { Keys: [key], ConsistentRead: true } },
        ReturnConsumedCapacity: 'TOTAL' });
      assert.equal(out.Responses[T.simple][0].v.N, '2');
      tc(out.ConsumedCapacity[0], 'batchGetItem');
      out = await call(dax, 'batchWriteItem', { RequestItems: { [T.simple]: [{ PutRequest: { Item: { ...key, v: { N: '3' } } } }] },
        ReturnConsumedCapacity: 'TOTAL', ReturnItemCollectionMetrics: 'SIZE' });
      tc(out.ConsumedCapacity[0], 'batchWriteItem');
      out = await call(dax, 'transactGetItems', { TransactItems: [{ Get: { TableName: T.simple, Key: key } }],
        ReturnConsumedCapacity: 'TOTAL' });
      assert.equal(out.Responses[0].Item.v.N, '3');
      tc(out.ConsumedCapacity[0], 'transactGetItems');
      out = await call(dax, 'transactWriteItems', { TransactItems: [{ Update: { TableName: T.simple, Key: key,
        UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': { N: '4' } } } }], ReturnConsumedCapacity: 'TOTAL',
      ReturnItemCollectionMetrics: 'SIZE' });
      tc(out.ConsumedCapacity[0], 'transactWriteItems');
      out = await call(dax, 'deleteItem', { TableName: T.simple, Key: key, ReturnConsumedCapacity: 'TOTAL', ReturnValues: 'ALL_OLD' });
      tc(out.ConsumedCapacity, 'deleteItem');
      assert.equal(out.Attributes.v.N, '4');
    });

    test('ResourceNotFoundException for a table that does not exist', async() => {
      const nope = PREFIX + 'Nope';
      const calls = [
        ['getItem', { TableName: nope, Key: { id: { S: 'x' } } }],
        ['putItem', { TableName: nope, Item: { id: { S: 'x' } } }],
        ['updateItem', { TableName: nope, Key: { id: { S: 'x' } }, UpdateExpression: 'SET a = :a',
          ExpressionAttributeValues: { ':a': { S: 'x' } } }],
        ['deleteItem', { TableName: nope, Key: { id: { S: 'x' } } }],
        ['query', { TableName: nope, KeyConditionExpression: 'id = :v', ExpressionAttributeValues: { ':v': { S: 'x' } } }],
        ['scan', { TableName: nope }],
        ['batchGetItem', { RequestItems: { [nope]: { Keys: [{ id: { S: 'x' } }] } } }],
        ['batchWriteItem', { RequestItems: { [nope]: [{ PutRequest: { Item: { id: { S: 'x' } } } }] } }],
      ];
      for(const [op, params] of calls) {
        const err = await rejects(call(dax, op, params), 'ResourceNotFoundException');
        assert.equal(adapter.status(err), 400, op);
      }
    });

    test('AccessDeniedException for a user without dax:GetItem', async() => {
      const reader = adapter.dax(READER);
      clients.push(reader);
      await call(dax, 'putItem', { TableName: T.simple, Item: { id: { S: 'secret' }, v: { S: 'only the role may read me' } } });
      const err = await rejects(call(reader, 'getItem', { TableName: T.simple, Key: { id: { S: 'secret' } } }),
        'AccessDeniedException');
      assert.match(err.message, /dax:GetItem/);
      assert.equal(adapter.status(err), 400);
      await rejects(call(reader, 'batchGetItem', { RequestItems: { [T.simple]: { Keys: [{ id: { S: 'secret' } }] } } }),
        'AccessDeniedException');
      await rejects(call(reader, 'deleteItem', { TableName: T.simple, Key: { id: { S: 'secret' } } }),
        'AccessDeniedException');
      // What the policy allows works on the same connection.
      await call(reader, 'putItem', { TableName: T.simple, Item: { id: { S: 'by-reader' } } });
      const q = await call(reader, 'query', { TableName: T.simple, KeyConditionExpression: 'id = :v',
        ExpressionAttributeValues: { ':v': { S: 'secret' } } });
      assert.equal(q.Items[0].v.S, 'only the role may read me');
      // A wrong secret: the node refuses the signature, so even discovery (`endpoints`) fails
      // and the client finds no route to the cluster (it waits maxRetryDelay for one).
      const bad = adapter.dax({ accessKeyId: READER.accessKeyId, secretAccessKey: 'not-the-secret' }, { maxRetryDelay: 500 });
      clients.push(bad);
      await rejects(call(bad, 'scan', { TableName: T.simple }), 'NoRouteException');
    });

    if(adapter.extra) {
      adapter.extra({ getDax: () => dax, T, norm, normAV, normItem, normItems, canonN, rejects });
    }
  });
}

module.exports = { defineSuite, canonN, norm, normAV, normItem, normItems, b64, REGION, URL, ROOT, T, EVERY_TYPE };
