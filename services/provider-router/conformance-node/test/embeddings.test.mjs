// Embeddings as a Node application asks for them: the SDK asks for base64 by default and decodes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BadRequestError } from 'openai';

import { client, freshFakesForEachCase, received, sent, usage, usageWhen } from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

const EMBEDDING_MODELS = [
  { api: 'openai', model: 'text-embedding-3-small', tokensPerText: 8 },
  { api: 'gemini', model: 'gemini-embedding-001', tokensPerText: 6 },
];

/** The fakes' vector for the ``k``-th text: ``k + (i % 8) / 8`` at position ``i`` (exact in float32). */
function vector(k, size) {
  return Array.from({ length: size }, (_, i) => k + (i % 8) / 8);
}

for (const { api, model, tokensPerText } of EMBEDDING_MODELS) {
  test(`${model}: texts are embedded as the SDK asks by default (base64, decoded by the SDK)`, async () => {
    const before = (await usage()).length;
    const answer = await sdk.embeddings.create({ model, input: ['first card', 'second card'], dimensions: 8 });
    assert.deepEqual(
      answer.data.map((item) => [item.index, Array.from(item.embedding)]),
      [
        [0, vector(0, 8)],
        [1, vector(1, 8)],
      ],
    );
    assert.equal(answer.model, model);
    assert.equal(answer.usage.prompt_tokens, 2 * tokensPerText);
    await sent(api);
    const [record] = await usageWhen(before, model, 1);
    assert.deepEqual(
      [record.model, record.outcome, record.input_tokens, record.output_tokens],
      [model, 'success', 2 * tokensPerText, 0],
    );
  });

  test(`${model}: one text, floats asked for`, async () => {
    const answer = await sdk.embeddings.create({ model, input: 'one card', encoding_format: 'float', dimensions: 4 });
    assert.deepEqual(answer.data[0].embedding, vector(0, 4));
  });
}

test('a model that embeds nothing is a BadRequestError (Claude, a chat model)', async () => {
  for (const model of ['claude-3-5-sonnet', 'gpt-4o']) {
    await assert.rejects(
      sdk.embeddings.create({ model, input: 'a card' }),
      (error) => error instanceof BadRequestError && error.param === 'model',
    );
  }
  assert.deepEqual((await received('openai')).requests, []);
  assert.deepEqual((await received('anthropic')).requests, []);
});
