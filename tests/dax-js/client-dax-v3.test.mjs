// The official DAX client for AWS SDK v3, @amazon-dax-sdk/client-dax 3.1.0, against a daxd
// cluster: the shared suite (suite.cjs) plus the client's own paginators.
// Run by tests/e2e/test_dax_js.py, which sets the environment described in suite.cjs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dax, daxPaginateQuery, daxPaginateScan } from '@amazon-dax-sdk/client-dax';
import { DynamoDB } from '@aws-sdk/client-dynamodb';
import suite from './suite.cjs';

const { defineSuite, URL, REGION, ROOT } = suite;

// daxd's DynamoDB API, to check what DAX wrote (and to write around DAX).
const dynamodb = new DynamoDB({ endpoint: process.env.DAXD_ENDPOINT, region: REGION, credentials: ROOT, maxAttempts: 1 });
after(() => dynamodb.destroy());

defineSuite({
  name: '@amazon-dax-sdk/client-dax 3.1.0',
  // The URL exactly as DescribeClusters returns it.
  dax: (credentials, config) => new Dax({ endpoints: [URL], region: REGION, credentials, ...config }),
  call: (client, op, params) => client[op](params),
  close: (client) => client.shutdown(),
  ddb: (op, params) => dynamodb[op](params),
  code: (err) => err.code,
  status: (err) => err.statusCode,
  reasons: (err) => err.cancellationReasons,
  extra: ({ getDax, T, normItems }) => {
    test('daxPaginateQuery and daxPaginateScan, on the table and on an index', async() => {
      const dax = getDax();
      const items = [];
      for(let i = 0; i < 7; i++) {
        items.push({ pk: { S: 'pages' }, sk: { N: String(i) }, cat: { S: 'paged' }, v: { S: `v${i}` } });
      }
      await dax.batchWriteItem({ RequestItems: { [T.things]: items.map((Item) => ({ PutRequest: { Item } })) } });
      const byPage = async(gen) => {
        const pages = [];
        for await (const page of gen) {
          pages.push(page.Items.map((i) => i.sk.N));
        }
        return pages;
      };
      assert.deepEqual(await byPage(daxPaginateQuery({ client: dax, pageSize: 3 }, { TableName: T.things,
        KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'pages' } } })),
      [['0', '1', '2'], ['3', '4', '5'], ['6']]);
      const idx = await byPage(daxPaginateQuery({ client: dax, pageSize: 2 }, { TableName: T.things, IndexName: 'byCat',
        KeyConditionExpression: 'cat = :c', ExpressionAttributeValues: { ':c': { S: 'paged' } }, ScanIndexForward: false }));
      assert.deepEqual(idx.flat(), ['6', '5', '4', '3', '2', '1', '0']);
      assert.ok(idx.length >= 4);
      const scanned = [];
      for await (const page of daxPaginateScan({ client: dax, pageSize: 4 }, { TableName: T.things,
        FilterExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'pages' } } })) {
        scanned.push(...page.Items);
      }
      assert.deepEqual(normItems(scanned), normItems(items));
    });

    test('callback style', async() => {
      const dax = getDax();
      const out = await new Promise((resolve, reject) => dax.getItem({ TableName: T.simple, Key: { id: { S: 'absent-cb' } } },
        (err, data) => (err ? reject(err) : resolve(data))));
      assert.equal(out.Item, undefined);
    });
  },
});
