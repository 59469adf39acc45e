{{ config(materialized='table') }}

select
    carrier::text      as carrier,
    carrier_name::text as carrier_name
from {{ ref('stg_airlines') }}
