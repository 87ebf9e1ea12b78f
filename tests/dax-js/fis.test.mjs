// The official DAX client for AWS SDK v3, @amazon-dax-sdk/client-dax 3.1.0, under FIS faults
// on a 3-node daxd cluster: it keeps reading while a replica is stalled, and keeps writing
// while the primary fails over. Run by tests/e2e/test_fis_effects.py, which starts the
// experiments when this script asks for them:
//
//   DAX_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   as for suite.cjs
//   DAXD_ENDPOINT   daxd's HTTP endpoint (its DynamoDB API, to check what DAX wrote)
//   FIS_TABLE       a table whose hash key is the string `id`
//   FIS_SYNC_DIR    this script creates `<step>.ready` when it is ready for the step's
//                   experiment; the test creates `<step>.done` once the experiment has
//                   completed; the script writes what it saw to `<step>.json`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Dax } from '@amazon-dax-sdk/client-dax';
import { DynamoDB } from '@aws-sdk/client-dynamodb';

function env(name) {
  const v = process.env[name];
  if(!v) {
    throw new Error(`${name} is not set (run through tests/e2e/test_fis_effects.py)`);
  }
  return v;
}

const URL = env('DAX_URL');
const REGION = env('AWS_REGION');
const ROOT = { accessKeyId: env('AWS_ACCESS_KEY_ID'), secretAccessKey: env('AWS_SECRET_ACCESS_KEY') };
const TABLE = env('FIS_TABLE');
const SYNC = env('FIS_SYNC_DIR');
// How long a step waits for its experiment to complete.
const STEP_MS = 30000;

const dynamodb = new DynamoDB({ endpoint: env('DAXD_ENDPOINT'), region: REGION, credentials: ROOT, maxAttempts: 1 });
after(() => dynamodb.destroy());

const ready = (step) => fs.writeFileSync(path.join(SYNC, `${step}.ready`), '');
const done = (step) => fs.existsSync(path.join(SYNC, `${step}.done`));
const report = (step, out) => fs.writeFileSync(path.join(SYNC, `${step}.json`), JSON.stringify(out));
const key = (id) => ({ id: { S: id } });

/**
 * Call `once()` in a loop from the moment the step's experiment is asked for until
 * `afterMs` after it has completed; what failed, with when (ms since the start) and how
 * long it took.
 */
async function loop(step, afterMs, once) {
  ready(step);
  const t0 = Date.now();
  let doneAt = null;
  let ok = 0;
  let okAfter = 0;
  let maxMs = 0;
  const failures = [];
  while(Date.now() - t0 < STEP_MS) {
    if(doneAt === null && done(step)) {
      doneAt = Date.now();
    }
    if(doneAt !== null && Date.now() - doneAt > afterMs) {
      break;
    }
    const started = Date.now();
    const ended = doneAt !== null;
    try {
      await once();
      ok += 1;
      okAfter += ended ? 1 : 0;
    } catch(err) {
      if(err instanceof assert.AssertionError) {
        throw err;
      }
      failures.push({ at: started - t0, ms: Date.now() - started, code: err.code || err.name, after: ended });
    }
    maxMs = Math.max(maxMs, Date.now() - started);
  }
  assert.ok(doneAt !== null, `the ${step} experiment did not complete within ${STEP_MS} ms`);
  return { ok, okAfter, maxMs, failures };
}

test('reads continue through a stalled replica', async() => {
  // A read the stalled node never answers times out after 0.5 s and is retried once.
  const dax = new Dax({ endpoints: [URL], region: REGION, credentials: ROOT, requestTimeout: 500, maxRetries: 1 });
  try {
    await dax.putItem({ TableName: TABLE, Item: { ...key('js-stall'), v: { N: '1' } } });
    assert.deepEqual((await dax.getItem({ TableName: TABLE, Key: key('js-stall') })).Item.v, { N: '1' });
    const seen = await loop('stall', 1000, async() => {
      const out = await dax.getItem({ TableName: TABLE, Key: key('js-stall') });
      assert.deepEqual(out.Item.v, { N: '1' });
    });
    report('stall', { reads: seen.ok, readsAfter: seen.okAfter, maxMs: seen.maxMs, failures: seen.failures });
    assert.ok(seen.ok > 50, JSON.stringify(seen));
    // The client routes around the stalled node: a few reads fail, none once it answers.
    assert.ok(seen.failures.length <= Math.max(10, seen.ok / 50), JSON.stringify(seen));
    assert.deepEqual(seen.failures.filter((f) => f.after), []);
    assert.ok(seen.okAfter > 0, JSON.stringify(seen));
  } finally {
    dax.shutdown();
  }
});

test('writes continue through a primary failover', async() => {
  const dax = new Dax({ endpoints: [URL], region: REGION, credentials: ROOT, requestTimeout: 2000 });
  try {
    let n = 0;
    const acked = [];
    // Past the failover, long enough for the client's endpoint refresh (every 4 s).
    const seen = await loop('failover', 5000, async() => {
      const id = `js-failover-${n++}`;
      await dax.putItem({ TableName: TABLE, Item: { ...key(id), v: { N: String(n) } } });
      acked.push(id);
    });
    report('failover', { writes: seen.ok, writesAfter: seen.okAfter, maxMs: seen.maxMs, failures: seen.failures });
    assert.deepEqual(seen.failures, []);
    assert.ok(seen.okAfter > 10, JSON.stringify(seen));
    // Every acknowledged write reached DynamoDB.
    for(let i = 0; i < acked.length; i += 100) {
      const keys = acked.slice(i, i + 100).map(key);
      const out = await dynamodb.batchGetItem({ RequestItems: { [TABLE]: { Keys: keys, ConsistentRead: true } } });
      assert.equal(Object.keys(out.UnprocessedKeys || {}).length, 0);
      assert.equal(out.Responses[TABLE].length, keys.length);
    }
  } finally {
    dax.shutdown();
  }
});
