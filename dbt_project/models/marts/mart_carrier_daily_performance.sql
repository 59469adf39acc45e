{#
    Daily carrier performance per origin airport, from the Python aggregate
    layer (stg_flight_daily_metrics) enriched with carrier / airport names.
    Grain: flight_date x carrier x origin. Partitioned by flight_date.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flight_date',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['flight_date']}],
        tags=['partitioned'],
        pre_hook="{{ clear_window('flight_date') }}",
        post_hook="{{ rebuild_window_indexes() }}",
    )
}}

with metrics as (

    select *
    from {{ ref('stg_flight_daily_metrics') }}
    where {{ date_window('flight_date') }}

)

select
    m.flight_date::date                    as flight_date,
    m.carrier::text                        as carrier,
    c.carrier_name::text                   as carrier_name,
    m.origin::text                         as origin,
    a.airport_name::text                   as origin_airport_name,
    m.flights::integer                     as flights,
    m.cancelled_flights::integer           as cancelled_flights,
    m.flown_flights::integer               as flown_flights,
    m.arrivals_reported::integer           as arrivals_reported,
    m.on_time_arrivals::integer            as on_time_arrivals,
    (m.on_time_arrivals::double precision / nullif(m.arrivals_reported, 0))::double precision
        as on_time_rate,
    (m.cancelled_flights::double precision / nullif(m.flights, 0))::double precision
        as cancellation_rate,
    m.mean_dep_delay_min::double precision as mean_dep_delay_min,
    m.p95_dep_delay_min::double precision  as p95_dep_delay_min,
    m.mean_arr_delay_min::double precision as mean_arr_delay_min,
    m.p95_arr_delay_min::double precision  as p95_arr_delay_min
from metrics as m
left join {{ ref('dim_carriers') }} as c
    on m.carrier = c.carrier
left join {{ ref('dim_airports') }} as a
    on m.origin = a.airport_code
