{#
    Reconciles the aggregate-layer counts in mart_carrier_daily_performance
    with counts recomputed from fct_flights, per (flight_date, carrier, origin),
    over the current min_date..max_date window. Returns one row per key whose
    counts differ or that exists on only one side.
#}
{# Attached to the mart as a Dagster asset check (it refs two models). #}
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'mart_carrier_daily_performance'}}}) }}

with mart as (

    select flight_date, carrier, origin,
           flights, cancelled_flights, flown_flights, arrivals_reported, on_time_arrivals
    from {{ ref('mart_carrier_daily_performance') }}
    where {{ date_window('flight_date') }}

),

fct as (

    select
        flight_date, carrier, origin,
        count(*)::integer                                   as flights,
        count(*) filter (where is_cancelled)::integer       as cancelled_flights,
        count(*) filter (where not is_cancelled)::integer   as flown_flights,
        count(*) filter (where is_arrival_reported)::integer as arrivals_reported,
        count(*) filter (where is_on_time)::integer         as on_time_arrivals
    from {{ ref('fct_flights') }}
    where {{ date_window('flight_date') }}
    group by flight_date, carrier, origin

)

select
    flight_date, carrier, origin,
    mart.flights            as mart_flights,            fct.flights            as fct_flights,
    mart.cancelled_flights  as mart_cancelled_flights,  fct.cancelled_flights  as fct_cancelled_flights,
    mart.flown_flights      as mart_flown_flights,      fct.flown_flights      as fct_flown_flights,
    mart.arrivals_reported  as mart_arrivals_reported,  fct.arrivals_reported  as fct_arrivals_reported,
    mart.on_time_arrivals   as mart_on_time_arrivals,   fct.on_time_arrivals   as fct_on_time_arrivals
from mart
full outer join fct using (flight_date, carrier, origin)
where mart.flights           is distinct from fct.flights
   or mart.cancelled_flights is distinct from fct.cancelled_flights
   or mart.flown_flights     is distinct from fct.flown_flights
   or mart.arrivals_reported is distinct from fct.arrivals_reported
   or mart.on_time_arrivals  is distinct from fct.on_time_arrivals
