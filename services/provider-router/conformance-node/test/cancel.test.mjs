// A stream the Node application aborts mid-answer (AbortController) is metered once by the router, with
// the tokens the provider reported or else an estimate marked as such, for a model of each provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MODELS, client, freshFakesForEachCase, script, usage, usageWhen } from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

const MESSAGES = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Say hello' },
];
const PROMPT_ESTIMATE = 14; // (9 + 3) // 4 + 4 for each of the two messages
/** [input, output, estimated] recorded when the stream stops after "Hello from": what the provider
 * reported, else the router's estimate ("Hello from" is 3 tokens at four characters a token). */
const PARTIAL = {
  openai: [PROMPT_ESTIMATE, 3, true],
  anthropic: [2000, 3, true],
  gemini: [4000, 800, false],
};

for (const { api, model } of MODELS) {
  test(`${model}: a stream aborted mid-answer is recorded once as cancelled`, async () => {
    const before = (await usage()).length;
    await script(api, 'stall'); // two words, then the provider goes quiet for a minute
    const abort = new AbortController();
    const stream = await sdk.chat.completions.create(
      { model, stream: true, messages: MESSAGES },
      { signal: abort.signal },
    );
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0].delta.content ?? '';
      if (text === 'Hello from') {
        abort.abort();
      }
    }
    assert.equal(text, 'Hello from');
    const [cancelled] = await usageWhen(before, model, 1);
    assert.ok(cancelled, 'the router recorded nothing for the aborted stream');
    assert.deepEqual(
      [cancelled.outcome, cancelled.model, cancelled.input_tokens, cancelled.output_tokens, cancelled.estimated],
      ['cancelled', model, ...PARTIAL[api]],
    );
    assert.ok(Number(cancelled.cost) > 0, `cost ${cancelled.cost}`);
    await sdk.chat.completions.create({ model, messages: MESSAGES });
    const records = await usageWhen(before, model, 2);
    assert.deepEqual(
      records.map((record) => record.outcome),
      ['cancelled', 'success'],
      'the aborted stream was recorded more than once',
    );
  });
}
