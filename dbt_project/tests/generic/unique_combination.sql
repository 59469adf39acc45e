{#
    Fails for every combination of the given columns that occurs more than once.
    Usage (model level):
      data_tests:
        - unique_combination:
            arguments:
              combination_of_columns: [flight_date, origin, carrier]
#}
{% test unique_combination(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
