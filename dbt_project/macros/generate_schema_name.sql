{#
    Use a model's custom schema verbatim (e.g. +schema: staging -> "staging")
    instead of dbt's default "<target_schema>_<custom_schema>".
    Models without a custom schema go to the target schema (analytics).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
