// Chat and streaming as a Node application writes them, for a model of each provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ANSWER, MODELS, PROMPT_TOKENS, client, freshFakesForEachCase, sent, user } from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

for (const { api, model } of MODELS) {
  test(`${model}: a plain answer`, async () => {
    const answer = await sdk.chat.completions.create({ model, messages: [user('Say hello')] });
    assert.equal(answer.object, 'chat.completion');
    assert.equal(answer.model, model);
    assert.equal(answer.choices[0].message.role, 'assistant');
    assert.equal(answer.choices[0].message.content, ANSWER);
    assert.equal(answer.choices[0].finish_reason, 'stop');
    assert.equal(answer.usage.prompt_tokens, PROMPT_TOKENS[api]);
    assert.equal(answer.usage.total_tokens, answer.usage.prompt_tokens + answer.usage.completion_tokens);
    await sent(api);
  });

  test(`${model}: a stream read with the standard loop, without include_usage`, async () => {
    const stream = await sdk.chat.completions.create({ model, stream: true, messages: [user('Say hello')] });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      // The loop of OpenAI's own examples: every chunk has a choice unless include_usage asked for usage.
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, model);
    }
    assert.equal(text, ANSWER);
    assert.equal(finish, 'stop');
    await sent(api);
  });

  test(`${model}: a stream with include_usage ends with one usage chunk without choices`, async () => {
    const stream = await sdk.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [user('Say hello')],
    });
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, ANSWER);
    const withoutChoices = chunks.filter((chunk) => chunk.choices.length === 0);
    assert.equal(withoutChoices.length, 1);
    assert.equal(chunks.at(-1), withoutChoices[0]);
    assert.equal(chunks.at(-1).usage.prompt_tokens, PROMPT_TOKENS[api]);
    assert.ok(chunks.slice(0, -1).every((chunk) => chunk.usage == null), 'usage came before the last chunk');
  });

  test(`${model}: the SDK's stream helper assembles the final completion`, async () => {
    const stream = sdk.chat.completions.stream({ model, messages: [user('Say hello')] });
    const deltas = [];
    stream.on('content', (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, ANSWER);
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(deltas.join(''), ANSWER);
  });

  test(`${model}: a system and a developer message reach the provider`, async () => {
    const answer = await sdk.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'developer', content: 'No emoji.' }, user('Hi')],
    });
    assert.equal(answer.choices[0].message.content, ANSWER);
    const body = JSON.stringify(await sent(api));
    assert.ok(body.includes('Be brief.') && body.includes('No emoji.'), body);
  });
}
