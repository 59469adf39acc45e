{#
    dbt renders the relation a generic test runs on through get_where_subquery. This
    project's version adds the run's partition window for models that declare
    meta.partition_column (dbt_project.yml), on top of any `where` config a test has.
    Outside the window nothing changed in this run, and the run that wrote it tested it.
#}
{% macro get_where_subquery(relation) -%}
    {%- set clauses = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do clauses.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set column = partition_column_of(relation) -%}
    {%- if column -%}
        {%- do clauses.append(date_window(column)) -%}
    {%- endif -%}
    {%- if clauses -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ clauses | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{# meta.partition_column of the model behind `relation`, or none (also while parsing). #}
{% macro partition_column_of(relation) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.schema == relation.schema and node.alias == relation.identifier -%}
                {%- do return(node.config.meta.get('partition_column')) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}
