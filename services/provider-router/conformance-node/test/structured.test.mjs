// Structured output and image input as a Node application sends them, for a model of each provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BadRequestError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { MODELS, client, freshFakesForEachCase, received, script, sent, user } from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

const Card = z.object({ title: z.string(), priority: z.number().int() });
const CHECKOUT = { title: 'Checkout', priority: 2 };
const PNG_DATA = Buffer.from('\x89PNG\r\n\x1a\nimage', 'latin1').toString('base64');
const PNG = `data:image/png;base64,${PNG_DATA}`;

/** The JSON schema the provider was asked to answer in, wherever its API carries it. */
function schemaSent(api, body) {
  if (api === 'openai') {
    assert.equal(body.response_format.type, 'json_schema');
    assert.equal(body.response_format.json_schema.strict, true);
    return body.response_format.json_schema.schema;
  }
  if (api === 'anthropic') {
    assert.equal(body.output_config.format.type, 'json_schema');
    return body.output_config.format.schema;
  }
  assert.equal(body.generationConfig.responseMimeType, 'application/json');
  return body.generationConfig.responseJsonSchema;
}

function imageMessage(url) {
  return {
    role: 'user',
    content: [
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url } },
    ],
  };
}

for (const { api, model } of MODELS) {
  test(`${model}: zodResponseFormat with .parse() gives the parsed object`, async () => {
    await script(api, 'ok-json');
    const answer = await sdk.chat.completions.parse({
      model,
      messages: [user('The checkout card')],
      response_format: zodResponseFormat(Card, 'card'),
    });
    assert.deepEqual(answer.choices[0].message.parsed, CHECKOUT);
    assert.deepEqual(Object.keys(schemaSent(api, await sent(api)).properties).sort(), ['priority', 'title']);
  });

  test(`${model}: a streamed structured answer is parsed by the stream helper`, async () => {
    await script(api, 'ok-json');
    const stream = sdk.chat.completions.stream({
      model,
      messages: [user('The checkout card')],
      response_format: zodResponseFormat(Card, 'card'),
    });
    const final = await stream.finalChatCompletion();
    assert.deepEqual(final.choices[0].message.parsed, CHECKOUT);
  });

  test(`${model}: an inline image reaches the provider`, async () => {
    await sdk.chat.completions.create({ model, messages: [imageMessage(PNG)] });
    const body = await sent(api);
    if (api === 'openai') {
      assert.deepEqual(body.messages[0].content[1], { type: 'image_url', image_url: { url: PNG } });
    } else if (api === 'anthropic') {
      assert.deepEqual(body.messages[0].content[1].source, { type: 'base64', media_type: 'image/png', data: PNG_DATA });
    } else {
      const { inlineData } = body.contents[0].parts[1];
      // Gemini reads a field by its proto name or its JSON name alike.
      assert.deepEqual([inlineData.mimeType ?? inlineData.mime_type, inlineData.data], ['image/png', PNG_DATA]);
    }
    assert.ok(JSON.stringify(body).includes('What is this?'));
  });
}

test('json_object mode reaches OpenAI and Gemini and is refused for Claude', async () => {
  for (const model of ['gpt-4o', 'gemini-1.5-pro']) {
    await sdk.chat.completions.create({
      model,
      messages: [user('JSON please')],
      response_format: { type: 'json_object' },
    });
  }
  assert.deepEqual((await sent('openai')).response_format, { type: 'json_object' });
  assert.equal((await sent('gemini')).generationConfig.responseMimeType, 'application/json');
  await assert.rejects(
    sdk.chat.completions.create({
      model: 'claude-3-5-sonnet',
      messages: [user('JSON please')],
      response_format: { type: 'json_object' },
    }),
    (error) => error instanceof BadRequestError && error.param === 'response_format',
  );
  assert.deepEqual((await received('anthropic')).requests, []);
});

test('an image URL goes to Claude as a URL and is refused for Gemini', async () => {
  const url = 'https://example.test/screen.png';
  await sdk.chat.completions.create({ model: 'claude-3-5-sonnet', messages: [imageMessage(url)] });
  assert.deepEqual((await sent('anthropic')).messages[0].content[1].source, { type: 'url', url });
  await assert.rejects(
    sdk.chat.completions.create({ model: 'gemini-1.5-pro', messages: [imageMessage(url)] }),
    (error) => error instanceof BadRequestError && error.code === 'unsupported_parameter',
  );
  assert.deepEqual((await received('gemini')).requests, []);
});
