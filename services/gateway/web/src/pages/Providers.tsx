import { useState } from "react";
import { api } from "../api/client";
import { keys, useAction, useAgentConfigs, useModels } from "../api/hooks";
import type { AgentConfig, ModelChoice } from "../api/types";
import { can, ErrorNote, Loaded, usePlace } from "../ui";

/** Which provider and model each agent runs on in this project, and whether it runs at all. */
export function ProvidersPage() {
  const { projectId, role } = usePlace();
  const configs = useAgentConfigs(projectId);
  const models = useModels();
  const editable = can(role, "write");
  return (
    <section className="panel">
      <h1>Providers</h1>
      <p className="muted">Each agent runs on the provider and model mapped here; models come from the provider router.</p>
      <Loaded query={configs} label="Loading agents…">
        {(list) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Lanes</th>
                  <th>Provider / model</th>
                  <th>Enabled</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((config) => (
                  <AgentRow key={config.agent} projectId={projectId} config={config} models={models.data ?? []} editable={editable} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
      <ErrorNote error={models.error} />
    </section>
  );
}

function AgentRow(props: { projectId: string; config: AgentConfig; models: ModelChoice[]; editable: boolean }) {
  const { config } = props;
  const [choice, setChoice] = useState(`${config.provider}/${config.model}`);
  const [enabled, setEnabled] = useState(config.enabled);
  const save = useAction(
    () => {
      const [provider, ...rest] = choice.split("/");
      return api(`/api/projects/${props.projectId}/agents/${config.agent}`, {
        method: "PUT",
        body: { provider, model: rest.join("/"), enabled },
      });
    },
    [keys.agents(props.projectId)],
  );
  const dirty = choice !== `${config.provider}/${config.model}` || enabled !== config.enabled;
  const options = props.models.some((m) => `${m.provider}/${m.model}` === choice)
    ? props.models
    : [{ provider: config.provider, model: config.model }, ...props.models];
  return (
    <tr data-testid={`agent-${config.agent}`}>
      <td>
        {config.display_name}
        {config.overridden ? <span className="tag">custom</span> : null}
      </td>
      <td>{config.lanes.join(", ")}</td>
      <td>
        <select aria-label={`Model for ${config.display_name}`} value={choice} disabled={!props.editable} onChange={(e) => setChoice(e.target.value)}>
          {options.map((m) => (
            <option key={`${m.provider}/${m.model}`} value={`${m.provider}/${m.model}`}>
              {m.provider} / {m.model}
            </option>
          ))}
        </select>
      </td>
      <td>
        <input type="checkbox" aria-label={`${config.display_name} enabled`} checked={enabled} disabled={!props.editable} onChange={(e) => setEnabled(e.target.checked)} />
      </td>
      <td>
        {props.editable ? (
          <button type="button" disabled={!dirty || save.isPending} onClick={() => save.mutate(undefined)}>
            {save.isPending ? "Saving…" : "Save"}
          </button>
        ) : null}
        <ErrorNote error={save.error} />
      </td>
    </tr>
  );
}
