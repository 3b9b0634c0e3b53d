import type { ComponentChildren } from 'preact';
import { maskedBy } from './format.js';

/** An error line announced to screen readers. */
export function ErrorLine({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** A result table; cells the gateway masked are marked with their detector. */
export function ResultTable({ caption, columns, rows }: { caption: string; columns: string[]; rows: (string | null)[][] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {r.map((cell) => {
                const by = maskedBy(cell);
                if (cell === null) return <td class="null">NULL</td>;
                return by ? (
                  <td class="masked" data-masked={by}>
                    <mark title={`masked by ${by}`} aria-label={`masked value (${by})`}>
                      {cell}
                    </mark>
                  </td>
                ) : (
                  <td>{cell}</td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** Shown instead of a page the logged-in roles do not open. */
export function NotAllowed({ what, roles }: { what: string; roles: string[] }) {
  return (
    <p class="error" role="alert">
      {what} needs the role {roles.join(' or ')}; ask an admin to add one of your groups to it.
    </p>
  );
}
