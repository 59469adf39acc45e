{{ config(materialized='table') }}

select
    tailnum::text       as tailnum,
    year_built::integer as year_built,
    aircraft_type::text as aircraft_type,
    manufacturer::text  as manufacturer,
    model::text         as model,
    engines::integer    as engines,
    seats::integer      as seats,
    speed_mph::integer  as speed_mph,
    engine_type::text   as engine_type
from {{ ref('stg_planes') }}
