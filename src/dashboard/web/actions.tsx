// The buttons: approve, pause, resume, promote, abort, rollback. Each asks first (a modal
// dialog, with a comment or reason where the CLI takes one), then shows the API server's
// answer: accepted, or refused by RBAC, by the admission webhook, or by the release's state.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ActionResult, ControlAction, ReleaseDetail } from "../protocol.ts";
import { postAction, type ActionInput } from "./api.ts";

interface ActionSpec {
  action: ControlAction;
  label: string;
  question: (name: string, target: string) => string;
  note?: "comment" | "reason";
  danger?: boolean;
}

const ACTIONS: ActionSpec[] = [
  {
    action: "approve",
    label: "Approve",
    note: "comment",
    question: (name) =>
      `Approve release ${name}? Your approval is recorded with your name and lets it past its approval gate.`,
  },
  {
    action: "pause",
    label: "Pause",
    note: "reason",
    question: (name) =>
      `Pause release ${name}? It holds where it is; analysis goes on and a failure still rolls back.`,
  },
  { action: "resume", label: "Resume", question: (name) => `Resume release ${name}?` },
  {
    action: "promote",
    label: "Promote",
    question: (name) => `Promote release ${name} past its current stage now? Approval gates still hold.`,
  },
  {
    action: "abort",
    label: "Abort",
    note: "reason",
    danger: true,
    question: (name) => `Abort release ${name}? Traffic goes back to stable and the canary to zero.`,
  },
  {
    action: "rollback",
    label: "Roll back",
    note: "reason",
    danger: true,
    question: (_name, target) =>
      `Roll deployment ${target} back to its previous version (glidepath rollback ${target} --version previous)?`,
  },
];

const OUTCOME_TITLE: Record<ActionResult["outcome"], string> = {
  accepted: "Done",
  rbac: "Refused by Kubernetes RBAC",
  webhook: "Refused by the admission webhook",
  conflict: "Not possible now",
  "not-found": "Not found",
  failed: "Failed",
};

export function ActionBar(props: { detail: ReleaseDetail; onDone: () => void }) {
  const { summary } = props.detail;
  const [asking, setAsking] = useState<ActionSpec | undefined>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<(ActionResult & { action: string }) | undefined>();
  const [note, setNote] = useState("");
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    if (asking) dialog.current?.showModal();
    else dialog.current?.close();
  }, [asking]);

  const confirm = async () => {
    if (!asking) return;
    const input: ActionInput = { action: asking.action };
    if (asking.note && note.trim()) input[asking.note] = note.trim();
    setBusy(true);
    try {
      setResult({ ...(await postAction(summary.namespace, summary.name, input)), action: asking.label });
    } catch (error) {
      setResult({
        ok: false,
        exitCode: 1,
        outcome: "failed",
        message: (error as Error).message,
        action: asking.label,
      });
    } finally {
      setBusy(false);
      setAsking(undefined);
      setNote("");
      props.onDone();
    }
  };

  return (
    <section class="actions" aria-labelledby="actions-title">
      <h2 id="actions-title" class="visually-hidden">
        Actions
      </h2>
      <div class="buttons">
        {ACTIONS.map((spec) => (
          <button
            type="button"
            class={spec.danger ? "danger" : ""}
            data-action={spec.action}
            disabled={busy || (props.detail.finished && spec.action !== "rollback")}
            onClick={() => {
              setResult(undefined);
              setAsking(spec);
            }}
          >
            {spec.label}
          </button>
        ))}
      </div>
      <div class="result" role="status" aria-live="polite">
        {result ? (
          <div class={`answer answer-${result.ok ? "ok" : "refused"}`} data-outcome={result.outcome}>
            <strong>
              {result.action}: {OUTCOME_TITLE[result.outcome]}
            </strong>
            <pre>{result.message || "(no message)"}</pre>
          </div>
        ) : null}
      </div>
      <dialog ref={dialog} aria-labelledby="confirm-title" onClose={() => setAsking(undefined)}>
        {asking ? (
          <form
            method="dialog"
            onSubmit={(event) => {
              event.preventDefault();
              void confirm();
            }}
          >
            <h2 id="confirm-title">{asking.label}?</h2>
            <p>{asking.question(summary.name, summary.target)}</p>
            {asking.note ? (
              <label class="note">
                {asking.note === "comment" ? "Comment (optional)" : "Reason (optional)"}
                <textarea
                  value={note}
                  maxLength={1000}
                  rows={3}
                  onInput={(event) => setNote(event.currentTarget.value)}
                />
              </label>
            ) : null}
            <div class="dialog-buttons">
              <button type="button" onClick={() => setAsking(undefined)}>
                Cancel
              </button>
              <button
                type="submit"
                class={asking.danger ? "danger" : "primary"}
                data-confirm={asking.action}
                disabled={busy}
              >
                {busy ? "Sending…" : `Yes, ${asking.label.toLowerCase()}`}
              </button>
            </div>
          </form>
        ) : null}
      </dialog>
    </section>
  );
}
