// Tools as a Node application uses them: every tool_choice, parallel calls answered over several turns,
// streamed calls assembled by the SDK, for a model of each provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BadRequestError } from 'openai';
import { zodFunction } from 'openai/helpers/zod';
import { z } from 'zod';

import { ANSWER, LOOKUP, MODELS, client, freshFakesForEachCase, script, sent, user } from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

const TOOL_CHOICES = ['auto', 'none', 'required', { type: 'function', function: { name: 'lookup' } }];
/** Each tool_choice above as each provider's API spells it. */
const TRANSLATED = {
  openai: TOOL_CHOICES,
  anthropic: [{ type: 'auto' }, { type: 'none' }, { type: 'any' }, { type: 'tool', name: 'lookup' }],
  gemini: [
    { mode: 'AUTO' },
    { mode: 'NONE' },
    { mode: 'ANY' },
    { mode: 'ANY', allowedFunctionNames: ['lookup'] },
  ],
};

function toolChoiceSent(api, body) {
  return api === 'gemini' ? body.toolConfig.functionCallingConfig : body.tool_choice;
}

/** One turn in which the model calls ``lookup`` twice in parallel, answered with both results. */
async function toolRound(api, model, messages) {
  await script(api, 'ok-parallel');
  const answer = await sdk.chat.completions.create({ model, messages, tools: [LOOKUP] });
  const { message, finish_reason: finish } = answer.choices[0];
  assert.equal(finish, 'tool_calls');
  assert.deepEqual(
    message.tool_calls.map((call) => [call.type, call.function.name, JSON.parse(call.function.arguments)]),
    [
      ['function', 'lookup', { q: 1 }],
      ['function', 'lookup', { q: 2 }],
    ],
  );
  const results = message.tool_calls.map((call, n) => ({
    role: 'tool',
    tool_call_id: call.id,
    content: `card ${n + 1}`,
  }));
  return [...messages, message, ...results]; // the assistant message goes back as the SDK returned it
}

for (const { api, model } of MODELS) {
  test(`${model}: every tool_choice reaches the provider`, async () => {
    for (const [n, choice] of TOOL_CHOICES.entries()) {
      await script(api, 'ok-tools');
      const answer = await sdk.chat.completions.create({
        model,
        messages: [user('Find card 1')],
        tools: [LOOKUP],
        tool_choice: choice,
      });
      assert.deepEqual(toolChoiceSent(api, await sent(api)), TRANSLATED[api][n]);
      const [call] = answer.choices[0].message.tool_calls;
      assert.deepEqual([call.function.name, JSON.parse(call.function.arguments)], ['lookup', { q: 1 }]);
    }
  });

  test(`${model}: parallel calls and their results over several turns`, async () => {
    let messages = await toolRound(api, model, [user('Find cards 1 and 2')]);
    messages = await toolRound(api, model, messages);
    const answer = await sdk.chat.completions.create({ model, messages, tools: [LOOKUP] });
    assert.equal(answer.choices[0].message.content, ANSWER);
    const ids = messages.flatMap((turn) => (turn.tool_calls ?? []).map((call) => call.id));
    assert.equal(ids.length, 4);
    assert.equal(new Set(ids).size, 4, 'tool-call ids repeat across turns');
    const body = await sent(api);
    if (api === 'gemini') {
      const results = body.contents[2];
      assert.equal(results.role, 'user');
      assert.deepEqual(
        results.parts.map((part) => part.functionResponse.name),
        ['lookup', 'lookup'],
      );
    }
    if (api === 'anthropic') {
      assert.deepEqual(
        body.messages[2].content.map((block) => block.tool_use_id),
        ids.slice(0, 2),
      );
    }
  });

  test(`${model}: streamed tool calls are assembled by the SDK's stream helper`, async () => {
    await script(api, 'ok-parallel');
    const stream = sdk.chat.completions.stream({ model, messages: [user('Find cards 1 and 2')], tools: [LOOKUP] });
    const done = [];
    stream.on('tool_calls.function.arguments.done', (call) => done.push(JSON.parse(call.arguments)));
    const final = await stream.finalChatCompletion();
    const { message, finish_reason: finish } = final.choices[0];
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(
      message.tool_calls.map((call) => [call.function.name, JSON.parse(call.function.arguments)]),
      [
        ['lookup', { q: 1 }],
        ['lookup', { q: 2 }],
      ],
    );
    assert.ok(message.tool_calls.every((call) => call.id && call.type === 'function'));
    assert.equal(new Set(message.tool_calls.map((call) => call.id)).size, 2);
    assert.deepEqual(done, [{ q: 1 }, { q: 2 }]);
  });

  test(`${model}: streamed calls of a zod tool are parsed by the SDK`, async () => {
    await script(api, 'ok-parallel');
    const lookup = zodFunction({ name: 'lookup', parameters: z.object({ q: z.number().int() }) });
    const stream = sdk.chat.completions.stream({ model, messages: [user('Find cards 1 and 2')], tools: [lookup] });
    const final = await stream.finalChatCompletion();
    assert.deepEqual(
      final.choices[0].message.tool_calls.map((call) => call.function.parsed_arguments),
      [{ q: 1 }, { q: 2 }],
    );
    const body = await sent(api);
    if (api === 'openai') {
      assert.equal(body.tools[0].function.strict, true);
    }
  });

  test(`${model}: a streamed call read chunk by chunk gathers by index`, async () => {
    await script(api, 'ok-parallel');
    const stream = await sdk.chat.completions.create({
      model,
      stream: true,
      messages: [user('Find cards 1 and 2')],
      tools: [LOOKUP],
    });
    const calls = [];
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0].delta.tool_calls ?? []) {
        calls[delta.index] ??= { id: '', name: '', arguments: '' };
        calls[delta.index].id ||= delta.id ?? '';
        calls[delta.index].name += delta.function?.name ?? '';
        calls[delta.index].arguments += delta.function?.arguments ?? '';
      }
    }
    assert.deepEqual(
      calls.map((call) => [call.name, JSON.parse(call.arguments)]),
      [
        ['lookup', { q: 1 }],
        ['lookup', { q: 2 }],
      ],
    );
    assert.ok(calls.every((call) => call.id));
  });
  for (const streaming of [false, true]) {
    test(`${model}: the SDK's tool runner answers the calls and finishes${streaming ? ', streamed' : ''}`, async () => {
      await script(api, 'ok-parallel', 'ok');
      const asked = [];
      const lookup = {
        name: 'lookup',
        description: 'Find a card',
        parameters: LOOKUP.function.parameters,
        parse: JSON.parse,
        function: ({ q }) => {
          asked.push(q);
          return `card ${q}`;
        },
      };
      const runner = sdk.chat.completions.runTools({
        model,
        stream: streaming,
        messages: [user('Find cards 1 and 2')],
        tools: [{ type: 'function', function: lookup }],
      });
      assert.equal(await runner.finalContent(), ANSWER);
      assert.deepEqual(asked, [1, 2]);
      assert.deepEqual(
        runner.messages.map((message) => message.role),
        ['user', 'assistant', 'tool', 'tool', 'assistant'],
      );
      await sent(api); // the SDK's own turns were accepted by the provider's rules
    });
  }
}

test('parallel_tool_calls: false is translated for OpenAI and Claude, refused for Gemini', async () => {
  for (const model of ['gpt-4o', 'claude-3-5-sonnet']) {
    await sdk.chat.completions.create({
      model,
      messages: [user('Find card 1')],
      tools: [LOOKUP],
      parallel_tool_calls: false,
    });
  }
  assert.equal((await sent('openai')).parallel_tool_calls, false);
  assert.deepEqual((await sent('anthropic')).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
  await assert.rejects(
    sdk.chat.completions.create({
      model: 'gemini-1.5-pro',
      messages: [user('Find card 1')],
      tools: [LOOKUP],
      parallel_tool_calls: false,
    }),
    (error) => {
      assert.ok(error instanceof BadRequestError, error);
      assert.equal(error.code, 'unsupported_parameter');
      assert.equal(error.param, 'parallel_tool_calls');
      return true;
    },
  );
});

test('a conversation started with Gemini tools goes on with Claude', async () => {
  let messages = await toolRound('gemini', 'gemini-1.5-pro', [user('Find cards 1 and 2')]);
  messages = await toolRound('gemini', 'gemini-1.5-pro', messages);
  const answer = await sdk.chat.completions.create({ model: 'claude-3-5-sonnet', messages, tools: [LOOKUP] });
  assert.equal(answer.choices[0].message.content, ANSWER);
  await sent('anthropic');
});
