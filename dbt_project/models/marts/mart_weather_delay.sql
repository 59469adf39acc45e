{#
    Departure performance by weather at the origin airport in the scheduled
    departure hour. Grain: flight_date x origin x weather_bucket.
    Partitioned by flight_date.

    Each flight is matched to the stg_weather row with the same origin and
    observed_at = sched_dep_hour_at (UTC hour) and put in exactly one bucket,
    first match wins:
      1. no_observation  - no weather row for that origin/hour
      2. precipitation   - precip_in > 0
      3. low_visibility  - visibility_mi < 3
      4. high_wind       - wind_speed_mph >= 25 or wind_gust_mph >= 35
      5. clear           - otherwise (including rows whose measures are null)

    Reads stg_flights (not fct_flights) so it does not depend on another
    partitioned model having been built for the same window.
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

with flights as (

    select
        flight_date,
        origin,
        sched_dep_hour_at,
        is_cancelled,
        dep_delay_min
    from {{ ref('stg_flights') }}
    where {{ date_window('flight_date') }}

),

weather as (

    select
        origin,
        observed_at,
        precip_in,
        visibility_mi,
        wind_speed_mph,
        wind_gust_mph
    from {{ ref('stg_weather') }}

),

bucketed as (

    select
        f.flight_date,
        f.origin,
        f.is_cancelled,
        f.dep_delay_min,
        case
            when w.observed_at is null then 'no_observation'
            when w.precip_in > 0 then 'precipitation'
            when w.visibility_mi < 3 then 'low_visibility'
            when w.wind_speed_mph >= 25 or w.wind_gust_mph >= 35 then 'high_wind'
            else 'clear'
        end as weather_bucket
    from flights as f
    left join weather as w
        on
            f.origin = w.origin
            and f.sched_dep_hour_at = w.observed_at

)

select
    flight_date::date                                   as flight_date,
    origin::text                                        as origin,
    weather_bucket::text                                as weather_bucket,
    count(*)::integer                                   as flights,
    count(*) filter (where not is_cancelled)::integer   as flown_flights,
    count(*) filter (where is_cancelled)::integer       as cancelled_flights,
    coalesce(sum(dep_delay_min), 0)::bigint             as total_dep_delay_min,
    avg(dep_delay_min)::double precision                as mean_dep_delay_min,
    count(*) filter (where dep_delay_min > 15)::integer as delayed_departures
from bucketed
group by flight_date, origin, weather_bucket
