// The Responses API as a Node application uses it, for a model of each provider: text, function calls over
// several turns, streaming events and the stream helper, structured output with zodTextFormat, refusals and
// a stream aborted mid-answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BadRequestError } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import {
  ANSWER,
  MODELS,
  PROMPT_TOKENS,
  client,
  freshFakesForEachCase,
  received,
  script,
  sent,
  usage,
  usageWhen,
} from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

const LOOKUP = {
  type: 'function',
  name: 'lookup',
  description: 'Find a card',
  parameters: { type: 'object', properties: { q: { type: 'integer' } }, required: ['q'] },
  strict: false,
};

/** One turn that calls ``lookup`` twice, then the conversation with the output and both results appended. */
async function callRound(api, model, conversation) {
  await script(api, 'ok-parallel');
  const response = await sdk.responses.create({ model, input: conversation, tools: [LOOKUP], tool_choice: 'required' });
  const calls = response.output.filter((item) => item.type === 'function_call');
  assert.deepEqual(
    calls.map((call) => [call.name, JSON.parse(call.arguments)]),
    [
      ['lookup', { q: 1 }],
      ['lookup', { q: 2 }],
    ],
  );
  assert.equal(new Set(calls.map((call) => call.call_id)).size, 2);
  const results = calls.map((call, n) => ({ type: 'function_call_output', call_id: call.call_id, output: `card ${n}` }));
  return [...conversation, ...response.output, ...results]; // the output goes back as the SDK returned it
}

for (const { api, model } of MODELS) {
  test(`${model}: responses: text input with instructions`, async () => {
    const response = await sdk.responses.create({ model, input: 'Say hello', instructions: 'Be brief.' });
    assert.equal(response.output_text, ANSWER);
    assert.deepEqual([response.object, response.status, response.model], ['response', 'completed', model]);
    assert.equal(response.usage.input_tokens, PROMPT_TOKENS[api]);
    assert.ok(JSON.stringify(await sent(api)).includes('Be brief.'));
  });

  test(`${model}: responses: function calls and their outputs over several turns`, async () => {
    let conversation = await callRound(api, model, [{ role: 'user', content: 'Find cards 1 and 2' }]);
    conversation = await callRound(api, model, conversation);
    const response = await sdk.responses.create({ model, input: conversation, tools: [LOOKUP] });
    assert.equal(response.output_text, ANSWER);
    await sent(api); // the fakes refuse results that answer no call, or parallel results split apart
  });

  test(`${model}: responses: the stream helper's events and final response`, async () => {
    await script(api, 'ok-tools');
    const stream = sdk.responses.stream({ model, input: 'Find card 1', tools: [LOOKUP] });
    const kinds = [];
    let text = '';
    for await (const event of stream) {
      kinds.push(event.type);
      if (event.type === 'response.output_text.delta') {
        text += event.delta;
      }
    }
    const final = await stream.finalResponse();
    assert.deepEqual(kinds.slice(0, 2), ['response.created', 'response.in_progress']);
    assert.equal(kinds.at(-1), 'response.completed');
    assert.ok(kinds.includes('response.function_call_arguments.delta'), kinds.join(' '));
    assert.equal(text, ANSWER);
    assert.equal(final.output_text, ANSWER);
    const [call] = final.output.filter((item) => item.type === 'function_call');
    assert.deepEqual([call.name, JSON.parse(call.arguments), call.status], ['lookup', { q: 1 }, 'completed']);
    assert.equal(final.usage.input_tokens, PROMPT_TOKENS[api]);
  });

  test(`${model}: responses: a raw stream's events are numbered in order`, async () => {
    const stream = await sdk.responses.create({ model, input: 'Say hello', stream: true });
    const events = [];
    for await (const event of stream) {
      events.push(event);
    }
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, n) => n),
    );
  });

  test(`${model}: responses: zodTextFormat with .parse() gives the parsed object`, async () => {
    await script(api, 'ok-json');
    const Card = z.object({ title: z.string(), priority: z.number().int() });
    const response = await sdk.responses.parse({
      model,
      input: 'The checkout card',
      text: { format: zodTextFormat(Card, 'card') },
    });
    assert.deepEqual(response.output_parsed, { title: 'Checkout', priority: 2 });
    assert.ok(JSON.stringify(await sent(api)).includes('priority'));
  });

  test(`${model}: responses: a stream aborted mid-answer is recorded once as cancelled`, async () => {
    const before = (await usage()).length;
    await script(api, 'stall');
    const abort = new AbortController();
    const stream = await sdk.responses.create({ model, input: 'Say hello', stream: true }, { signal: abort.signal });
    let text = '';
    for await (const event of stream) {
      text += event.type === 'response.output_text.delta' ? event.delta : '';
      if (text === 'Hello from') {
        abort.abort();
      }
    }
    assert.equal(text, 'Hello from');
    const [cancelled] = await usageWhen(before, model, 1);
    assert.ok(cancelled, 'the router recorded nothing for the aborted stream');
    assert.deepEqual([cancelled.outcome, cancelled.model], ['cancelled', model]);
  });
}

test('responses: what the router cannot honour is a BadRequestError naming it', async () => {
  for (const [params, param] of [
    [{ store: true }, 'store'],
    [{ previous_response_id: 'resp_1' }, 'previous_response_id'],
  ]) {
    await assert.rejects(
      sdk.responses.create({ model: 'gpt-4o', input: 'Say hello', ...params }),
      (error) => error instanceof BadRequestError && error.code === 'unsupported_parameter' && error.param === param,
    );
  }
  assert.deepEqual((await received('openai')).requests, []);
});
