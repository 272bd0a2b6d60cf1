import type { ReactNode } from 'react';

export function Panel(props: {
  id: string;
  title: string;
  testId?: string;
  actions?: ReactNode;
  className?: string;
  children: ReactNode;
  extra?: Record<`data-${string}`, string>;
}) {
  return (
    <section
      id={props.id}
      className={`panel ${props.className ?? ''}`}
      aria-labelledby={`${props.id}-title`}
      data-testid={props.testId}
      {...props.extra}
    >
      <div className="panel-head">
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        {props.actions ? <div className="panel-actions">{props.actions}</div> : null}
      </div>
      <div className="panel-body">{props.children}</div>
    </section>
  );
}
