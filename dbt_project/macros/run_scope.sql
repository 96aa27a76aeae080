{#- What a run recomputes (ingestion/run_scope.py writes raw._run_scope before dbt starts).

    Incremental models keep their rows between runs and, on each run, delete and rebuild
    only what the run touches:
    - int_*__validated: the keys with a row whose content changed since the last
      successful build (a new (key, row hash), a reject or a release since then);
    - day models: the days of the partition window plus every day any version of a
      changed row falls on (int_scope__days);
    - period models: the periods containing those days (int_scope__periods), or every
      period when the plan's rules changed (`all_periods`).
    The scope is read once per model when it compiles (run_query), so the SQL carries
    literal timestamps DuckDB can prune row groups with. `--vars '{window_start: ...,
    window_end: ...}'` overrides the window by hand. With no successful build before
    (changed_since null), the run is a full refresh and these macros select everything. -#}

{% macro run_scope() -%}
    {%- set scope = {
        'window_start': var('window_start', none),
        'window_end': var('window_end', none),
        'changed_since': none,
        'recorded_at': none,
        'all_periods': false,
        'known': false,
    } -%}
    {#- a unit test computes its fixtures whole: no scope, and no source to read -#}
    {%- if in_unit_test() -%}
        {%- do return(scope) -%}
    {%- endif -%}
    {#- read once per invocation: the macros of a night's models ask ~190 times. `graph` is
        the one object every node's context shares, and it lives as long as the invocation. -#}
    {%- if execute and 'spm_run_scope' in graph -%}
        {%- do return(graph['spm_run_scope']) -%}
    {%- endif -%}
    {%- set src = source('control', 'run_scope') -%}
    {%- if execute and src is not none -%}
        {%- set relation = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) -%}
        {%- if relation is not none -%}
            {%- set rows = run_query(
                'select window_start, window_end, changed_since, recorded_at, all_periods from ' ~ relation
            ).rows -%}
            {%- if rows | length > 0 -%}
                {%- do scope.update({
                    'changed_since': rows[0][2], 'recorded_at': rows[0][3], 'all_periods': rows[0][4] is true,
                    'known': true,
                }) -%}
                {%- if scope.window_start is none -%}{%- do scope.update({'window_start': rows[0][0]}) -%}{%- endif -%}
                {%- if scope.window_end is none -%}{%- do scope.update({'window_end': rows[0][1]}) -%}{%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- if execute -%}
        {%- do graph.update({'spm_run_scope': scope}) -%}
    {%- endif -%}
    {%- do return(scope) -%}
{%- endmacro %}

{#- Incremental where rows can be deleted; Spark's Parquet tables cannot, they rebuild. -#}
{% macro scoped_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{% macro scope_timestamp(value) -%}
    cast('{{ value }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- `_changed_at > scope_since()`: rows changed since the last successful build. On a full
    build nothing counts as changed: no row is newer than the year 9999. -#}
{% macro scope_since() -%}
    {%- set changed_since = run_scope().changed_since -%}
    {{ return(scope_timestamp(changed_since if changed_since is not none else '9999-12-31 00:00:00')) }}
{%- endmacro %}

{#- When this run's rows were (re)built: rows with a later stamp than the last successful
    build are what downstream models recompute. -#}
{% macro changed_at(scope) -%}
    {%- if scope.recorded_at is not none -%}
        {{ scope_timestamp(scope.recorded_at) }}
    {%- else -%}
        {{ dbt.current_timestamp() }}
    {%- endif -%}
{%- endmacro %}

{#- Keys with a row loaded since `since` whose row hash is not the key's current
    version in {{ this }} (a re-sent identical row changes nothing). The loaded rows are
    few, so they are the join's build side. -#}
{% macro new_version_keys(staging_model, key_columns, since) -%}
    {%- set keys = key_columns | join(', ') -%}
    select distinct {{ keys }}
    from (
        select
            {{ keys }},
            _row_hash
        from {{ ref(staging_model) }}
        where _loaded_at > {{ since }}
        except
        select
            {%- for key in key_columns %}
                current_rows.{{ key }},
            {%- endfor %}
            current_rows._row_hash
        from {{ this }} as current_rows
        inner join (
            select
                {{ keys }},
                _row_hash
            from {{ ref(staging_model) }}
            where _loaded_at > {{ since }}
        ) as loaded
            on
                current_rows._row_hash = loaded._row_hash
                {%- for key in key_columns %}
                    and current_rows.{{ key }} = loaded.{{ key }}
                {%- endfor %}
    ) as new_rows
{%- endmacro %}

{#- True when this run recomputes only its scope: the last build succeeded, nothing asks
    for a full refresh, and the engine can delete rows (not Spark). An incremental model
    also needs is_incremental() (its table exists). -#}
{% macro scoped() -%}
    {{ return(
        target.type != 'spark' and not flags.FULL_REFRESH and not in_unit_test()
        and run_scope().changed_since is not none
    ) }}
{%- endmacro %}

{% macro in_unit_test() -%}
    {{ return(model is defined and model.resource_type == 'unit_test') }}
{%- endmacro %}

{#- post_hooks of a validated model, after it appended this run's versions: the rows
    they replace are the older rows of the same keys, and every row of a judged key. -#}
{% macro replaced_versions_filter(staging_model, entity, key_columns) -%}
    {%- set since = scope_since() -%}
    {%- set stamp = changed_at(run_scope()) -%}
    current_rows._changed_at < {{ stamp }}
    and {{ key_tuple(key_columns, 'current_rows') }} in (
        select {{ key_columns | join(', ') }}
        from {{ this }}
        where _changed_at = {{ stamp }}
        union
        {{ judged_keys(staging_model, entity, key_columns, since) }}
    )
{%- endmacro %}

{#- `alias.key`, or the tuple of a composite key, for `... in (select key ...)`: a semi
    join DuckDB builds from the subquery's (few) rows and skips when they are none. A
    correlated `exists` here scanned the whole table (11 s per 10M rows per model). -#}
{% macro key_tuple(key_columns, alias) -%}
    {%- set columns = [] -%}
    {%- for key in key_columns -%}{%- do columns.append(alias ~ '.' ~ key) -%}{%- endfor -%}
    {%- if columns | length == 1 -%}{{ columns[0] }}{%- else -%}({{ columns | join(', ') }}){%- endif -%}
{%- endmacro %}

{#- The scope model an incremental run rebuilt a mart's rows by, and the columns that tie
    a row to it. A data test with `scope` declares the model (`depends_on`) and checks
    only those rows: the others passed when the last successful build tested them. -#}
{% macro rebuild_scope(scope) -%}
    {%- set scopes = {
        'periods': ('int_scope__periods', ['period_grain', 'period_start']),
        'orders': ('int_scope__orders', ['order_id']),
        'opportunities': ('int_scope__opportunities', ['opportunity_id']),
    } -%}
    {%- if scope not in scopes -%}
        {{ exceptions.raise_compiler_error(
            "scope must be 'periods', 'orders' or 'opportunities', not " ~ scope
        ) }}
    {%- endif -%}
    {{ return(scopes[scope]) }}
{%- endmacro %}

{#- Predicate on `alias`: the row is one this incremental run rebuilt. -#}
{% macro rebuilt_rows(scope, alias) -%}
    {%- set scope_model, keys = rebuild_scope(scope) -%}
    {{ key_tuple(keys, alias) }} in (select {{ keys | join(', ') }} from {{ ref(scope_model) }})
{%- endmacro %}

{#- keep where a replaced version was: its key, `ref_id` and each of `days` -#}
{% macro record_replaced_keys(staging_model, entity, key_columns, ref_id, days) -%}
    {%- if is_incremental() and scoped() -%}
        insert into {{ ref('int_scope__replaced') }} (entity, record_key, ref_id, date_day)
        {% for day in (days or ['null']) -%}
            select
                '{{ entity }}',
                {% for key in key_columns -%}
                    cast(current_rows.{{ key }} as {{ dbt.type_string() }}){% if not loop.last %} || '|' || {% endif %}
                {%- endfor %},
                cast({{ ref_id or 'null' }} as {{ dbt.type_string() }}),
                cast({{ day }} as date)
            from {{ this }} as current_rows
            where {{ replaced_versions_filter(staging_model, entity, key_columns) }}
            {% if not loop.last %}union all{% endif %}
        {% endfor -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro delete_replaced_versions(staging_model, entity, key_columns) -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }} as current_rows
        where {{ replaced_versions_filter(staging_model, entity, key_columns) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of an incremental model on a run that is not scoped: rebuild it whole. -#}
{% macro delete_all_rows_unless_scoped() -%}
    {%- if is_incremental() and not scoped() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of an incremental model on a run that rebuilds it whole. -#}
{% macro delete_all_rows() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of a day model: drop the rows of the days this run recomputes. -#}
{% macro delete_scope_days(day_column='date_day') -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }}
        where {{ day_column }} in (select date_day from {{ ref('int_scope__days') }})
    {%- else -%}
        {{ delete_all_rows() }}
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of a period model: drop the rows of the periods this run recomputes. -#}
{% macro delete_scope_periods() -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }} as current_rows
        where {{ in_scope_periods('current_rows') }}
    {%- else -%}
        {{ delete_all_rows() }}
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of a period model with trend columns (lags over the periods before): drop,
    per grain, the rows from the first period this run recomputes on. -#}
{% macro delete_from_first_scope_period() -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }} as current_rows
        where current_rows.period_start >= (
            select first_scope.period_start
            from ({{ first_scope_periods() }}) as first_scope
            where first_scope.period_grain = current_rows.period_grain
        )
    {%- else -%}
        {{ delete_all_rows() }}
    {%- endif -%}
{%- endmacro %}

{#- Each grain's first period in int_scope__periods: a model with trend columns rebuilds
    every period from it on. -#}
{% macro first_scope_periods() -%}
    select
        period_grain,
        min(period_start) as period_start
    from {{ ref('int_scope__periods') }}
    group by period_grain
{%- endmacro %}

{#- `columns` of `relation` (a CTE of period rows) and is_rebuilt: on an incremental run,
    the rows from each grain's first scope period on (rebuilt), and of each series of
    `keys` the `periods_back` rows before them (not rebuilt: what the lags of the rebuilt
    rows read); otherwise every row, rebuilt. -#}
{% macro rows_to_rebuild_with_lags(relation, keys, columns, periods_back=2) -%}
    {%- set series = keys + ['period_grain'] -%}
    select
        {%- for column in columns %}
            {{ relation }}.{{ column }},
        {%- endfor %}
    {%- if is_incremental() and scoped() %}
        rows_before.period_start is null as is_rebuilt
    from {{ relation }}
    left join ({{ first_scope_periods() }}) as first_rebuilt
        on {{ relation }}.period_grain = first_rebuilt.period_grain
    left join (
        select
            {%- for key in series %}
                earlier.{{ key }},
            {%- endfor %}
            earlier.period_start,
            row_number() over (
                partition by earlier.{{ series | join(', earlier.') }}
                order by earlier.period_start desc
            ) as periods_back
        from {{ relation }} as earlier
        inner join ({{ first_scope_periods() }}) as first_scope
            on earlier.period_grain = first_scope.period_grain and earlier.period_start < first_scope.period_start
    ) as rows_before
        on
            {%- for key in series %}
                {{ relation }}.{{ key }} = rows_before.{{ key }} and
            {%- endfor %}
            {{ relation }}.period_start = rows_before.period_start
            and rows_before.periods_back <= {{ periods_back }}
    where {{ relation }}.period_start >= first_rebuilt.period_start or rows_before.period_start is not null
    {%- else %}
        true as is_rebuilt
    from {{ relation }}
    {%- endif %}
{%- endmacro %}

{#- pre_hook of an order-line model: drop the lines of the orders this run rebuilds. -#}
{% macro delete_scope_orders() -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }}
        where order_id in (select order_id from {{ ref('int_scope__orders') }})
    {%- else -%}
        {{ delete_all_rows() }}
    {%- endif -%}
{%- endmacro %}

{#- Batches with a reject recorded or released, or a file rejected whole, since the last
    successful build: dq_rejected_rows rebuilds all their rows. -#}
{% macro reject_batches_since(since) -%}
    {%- set changes = [
        (source('quality', 'rejected_rows'), 'rejected_at > ' ~ since),
        (source('quality', 'reject_resolutions'), 'resolved_at > ' ~ since),
        (source('control', 'batches'), "status = 'rejected' and loaded_at > " ~ since),
    ] -%}
    {%- for relation, condition in changes %}
    select
        entity,
        batch_id
    from {{ relation }}
    where {{ condition }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{% macro delete_scope_reject_batches() -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }}
        where {{ in_scope_reject_batches() }}
    {%- else -%}
        {{ delete_all_rows() }}
    {%- endif -%}
{%- endmacro %}

{#- on a table whose own columns are entity and batch_id -#}
{% macro in_scope_reject_batches() -%}
    {%- if is_incremental() and scoped() -%}
        (entity, batch_id) in ({{ reject_batches_since(scope_since()) }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Row filters: only the days / periods / orders in scope (everything on a full build).
    `incremental`: the model keeps rows between runs (its table must exist to filter). -#}
{% macro in_scope_days(day_expression, incremental=true) -%}
    {%- if (not incremental or is_incremental()) and scoped() -%}
        {{ day_expression }} in (select date_day from {{ ref('int_scope__days') }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{% macro in_scope_periods(alias, incremental=true) -%}
    {%- if (not incremental or is_incremental()) and scoped() -%}
        {{ key_tuple(['period_grain', 'period_start'], alias) }} in (
            select period_grain, period_start from {{ ref('int_scope__periods') }}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{% macro in_scope_orders(order_column='order_id') -%}
    {%- if is_incremental() and scoped() -%}
        {{ order_column }} in (select order_id from {{ ref('int_scope__orders') }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Keys with a row rejected or released since `since`. -#}
{% macro judged_keys(staging_model, entity, key_columns, since) -%}
    {#- Rows of earlier batches judged since `since`: released rejects (a late parent), or
        a reject recorded later for an old row. A new batch's own rejects are new rows,
        found above. Usually none: the staging scan below is then skipped. -#}
    select
        {%- for key in key_columns %}
            staged.{{ key }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref(staging_model) }} as staged
    inner join (
        select
            judged_rows.batch_id,
            judged_rows.row_number
        from (
            select
                batch_id,
                row_number
            from {{ source('quality', 'rejected_rows') }}
            where entity = '{{ entity }}' and rejected_at > {{ since }}
            union all
            select
                batch_id,
                row_number
            from {{ source('quality', 'reject_resolutions') }}
            where entity = '{{ entity }}' and resolved_at > {{ since }}
        ) as judged_rows
        inner join {{ source('control', 'batches') }} as batches
            on judged_rows.batch_id = batches.batch_id and batches.loaded_at <= {{ since }}
    ) as judged
        on staged._batch_id = judged.batch_id and staged._row_number = judged.row_number
{%- endmacro %}

{% macro delete_scope_opportunities() -%}
    {%- if is_incremental() and scoped() -%}
        delete from {{ this }}
        where opportunity_id in (select opportunity_id from {{ ref('int_scope__opportunities') }})
    {%- else -%}
        {{ delete_all_rows() }}
    {%- endif -%}
{%- endmacro %}
